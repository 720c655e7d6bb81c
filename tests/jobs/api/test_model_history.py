"""GET /api/models/: each version's status, description, tags and transitions."""

import pytest
from rest_framework.test import APIClient

from jobs.models import ModelVersion
from jobs.services.versions import apply_promotion_gate, describe, promote

pytestmark = pytest.mark.django_db


def test_versions_show_their_history_newest_first(staff, tmp_path):
    api = APIClient()
    api.force_authenticate(staff)
    (tmp_path / "a").mkdir()
    version = ModelVersion.objects.create(
        kind="bertsumext",
        checkpoint_dir=str(tmp_path / "a"),
        metrics={"val_rouge": 20.0, "lead3_rouge1": 30, "lead3_rouge2": 10, "lead3_rougeLsum": 26},
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
    assert gate_step["reason"].startswith("not promoted: below Lead-3 by 2.00")
    assert gate_step["compared"] == {"val_rouge": 20.0, "lead3_rouge": 22.0, "tolerance": 0.0}
    assert (staff_step["to_status"], staff_step["by"]) == ("active", staff.username)
    assert api.get(f"/api/models/{version.pk}/").json()["transitions"] == body["transitions"]
