"""GET /api/models/: each version's status, description, tags and transitions."""

import pytest
from rest_framework.test import APIClient

from jobs.services.versions import apply_promotion_gate, describe, promote
from tests.jobs.training_fixtures import measured_version, per_document

pytestmark = pytest.mark.django_db


def test_versions_show_their_history_newest_first(staff, tmp_path):
    api = APIClient()
    api.force_authenticate(staff)
    (tmp_path / "a").mkdir()
    version = measured_version(
        tmp_path / "a",
        candidate=per_document(20.0, pattern=1),
        lead3=per_document(22.0),
        fallback=per_document(22.0),
    )
    apply_promotion_gate(version)
    promote(version, staff)
    describe(version, "first try", ["cnn"])
    [body] = api.get("/api/models/").json()["results"]
    assert (body["status"], body["description"], body["tags"]) == ("active", "first try", ["cnn"])
    staff_step, gate_step = body["transitions"]
    assert (gate_step["from_status"], gate_step["to_status"], gate_step["by"]) == (
        "candidate",
        "candidate",
        "gate",
    )
    assert gate_step["reason"].startswith("not promoted: -2.00 ROUGE (95% interval")
    compared = gate_step["compared"]
    assert (compared["val_rouge"], compared["fallback_rouge"], compared["n"]) == (20.0, 22.0, 32)
    assert compared["difference"] == pytest.approx(-2.0) and len(compared["ci95"]) == 2
    assert (staff_step["to_status"], staff_step["by"]) == ("active", staff.username)
    assert api.get(f"/api/models/{version.pk}/").json()["transitions"] == body["transitions"]
