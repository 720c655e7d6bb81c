"""Dashboard pages for model versions: promote and roll back, each confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from jobs.services.versions import promote
from tests.jobs.admin.helpers import make_version
from tests.jobs.training_fixtures import measured_version, per_document

pytestmark = pytest.mark.django_db


def test_promote_needs_confirmation(staff_client, staff, tmp_path):
    active = make_version(tmp_path, active=True, name="a")
    candidate = make_version(tmp_path, name="b", val_rouge1=42.0)
    url = reverse("admin:jobs_modelversion_promote", args=[candidate.pk])
    page = staff_client.get(url)
    html = page.content.decode()
    assert f"Yes, promote {candidate}" in html and f"Active now: {active}" in html
    candidate.refresh_from_db()
    assert not candidate.is_active  # looking changes nothing

    staff_client.post(url, {"confirm": "on"})
    candidate.refresh_from_db()
    active.refresh_from_db()
    assert candidate.is_active and candidate.promoted_by == staff and not active.is_active


def test_rollback_confirmation_names_the_version_it_restores(staff_client, staff, tmp_path):
    first = make_version(tmp_path, name="a")
    second = make_version(tmp_path, name="b")
    promote(first, staff)
    promote(second, staff)
    url = reverse("admin:jobs_modelversion_rollback", args=["bertsumext"])
    page = staff_client.get(url)
    assert page.context["new"] == first and page.context["current"] == second
    response = staff_client.post(url, {"confirm": "on"})
    assert response["Location"] == reverse("admin:jobs_modelversion_change", args=[first.pk])
    first.refresh_from_db()
    assert first.is_active
    # Nothing earlier to go back to: the page says so and offers no button.
    page = staff_client.get(url).content.decode()
    assert "nothing to roll back to" in page and 'data-testid="confirm"' not in page
    assert (
        staff_client.get(reverse("admin:jobs_modelversion_rollback", args=["gpt"])).status_code
        == 404
    )


def test_version_list_shows_metrics_and_active_flag(staff_client, tmp_path):
    make_version(
        tmp_path, active=True, name="a", lead3_rouge1=38.0, lead3_rouge2=16.0, lead3_rougeLsum=34.0
    )
    html = staff_client.get(reverse("admin:jobs_modelversion_changelist")).content.decode()
    assert "40.00" in html and "18.00" in html and "+2.00" in html
    assert 'alt="True"' in html  # the admin's boolean icon for is_active


def test_promoting_a_version_whose_checkpoint_is_gone_says_so(staff_client, tmp_path):
    version = make_version(tmp_path)
    Path(version.checkpoint_dir).rmdir()
    url = reverse("admin:jobs_modelversion_promote", args=[version.pk])
    response = staff_client.post(url, {"confirm": "on"}, follow=True)
    assert "checkpoint of bertsumext" in response.content.decode()
    version.refresh_from_db()
    assert not version.is_active


LEAD3 = {"lead3_rouge1": 45.0, "lead3_rouge2": 20.0, "lead3_rougeLsum": 40.0}


def test_promote_confirmation_warns_when_the_gate_kept_the_version(staff_client, tmp_path):
    from jobs.services.versions import apply_promotion_gate

    kept = measured_version(
        tmp_path / "v",
        candidate=per_document(31.0, pattern=1),
        lead3=per_document(35.0),
        fallback=per_document(33.0),
    )
    (tmp_path / "v").mkdir()
    assert apply_promotion_gate(kept) is False
    url = reverse("admin:jobs_modelversion_promote", args=[kept.pk])
    html = staff_client.get(url).content.decode()
    assert 'data-testid="gate-warning"' in html
    assert "would not promote bertsumext" in html and "-2.00 ROUGE (95% interval" in html
    assert "against the Zero-label default" in html
    # The version page shows the comparison with its n and interval, not a bare mean.
    page = staff_client.get(reverse("admin:jobs_modelversion_change", args=[kept.pk]))
    measured = page.content.decode().split('data-testid="measured-against"')[1].split("</ul>")[0]
    assert 'Lead-3: <span class="jobs-worse">-4.00 ROUGE (95% interval -' in measured
    assert 'Zero-label default: <span class="jobs-worse">-2.00 ROUGE (95% interval' in measured
    assert "n=32)" in measured and "jobs-worse" in measured
    staff_client.post(url, {"confirm": "on"})
    kept.refresh_from_db()
    assert kept.is_active  # staff may still promote it
    page = staff_client.get(reverse("admin:jobs_modelversion_change", args=[kept.pk]))
    history = page.content.decode().split('data-testid="history"')[1]
    assert history.count("<tr data-transition=") == 2
    assert "Candidate (not serving) → Active (serving)" in history
    assert f"<td>{page.wsgi_request.user}</td>" in history and "<td>gate</td>" in history
    assert "over the gate" in history


def test_staff_edit_description_and_tags(staff_client, tmp_path):
    version = make_version(tmp_path)
    url = reverse("admin:jobs_modelversion_describe", args=[version.pk])
    staff_client.post(url, {"description": "CNN 6k, frozen encoder", "tags": "cnn, frozen, cnn"})
    version.refresh_from_db()
    assert (version.description, version.tags) == ("CNN 6k, frozen encoder", ["cnn", "frozen"])
    html = staff_client.get(
        reverse("admin:jobs_modelversion_change", args=[version.pk])
    ).content.decode()
    assert "CNN 6k, frozen encoder" in html and 'value="cnn, frozen"' in html


def test_describe_needs_the_change_permission(client, tmp_path):
    from tests.factories import UserFactory

    viewer = UserFactory(is_staff=True)  # staff without permissions
    client.force_login(viewer)
    version = make_version(tmp_path)
    url = reverse("admin:jobs_modelversion_describe", args=[version.pk])
    assert client.post(url, {"description": "x", "tags": ""}).status_code == 403
    version.refresh_from_db()
    assert version.description == ""


def test_compare_two_versions_metrics_and_params(staff_client, tmp_path):
    from jobs.models import TrainingRun

    a = make_version(tmp_path, name="a", val_rouge=30.0)
    b = make_version(tmp_path, name="b", val_rouge=31.5)
    a.run = TrainingRun.objects.create(kind="bertsumext", params={"lr": 0.001, "model": {"x": 1}})
    b.run = TrainingRun.objects.create(kind="bertsumext", params={"lr": 0.002})
    a.save()
    b.save()
    changelist = reverse("admin:jobs_modelversion_changelist")
    response = staff_client.post(
        changelist, {"action": "compare_selected", "_selected_action": [b.pk, a.pk]}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?a={a.pk}&b={b.pk}")
    page = staff_client.get(response["Location"])
    rows = {
        section: {row.name: (row.a, row.b, row.delta) for row in rows}
        for section, rows in page.context["sections"].items()
    }
    assert rows["metrics"]["val_rouge"] == (30.0, 31.5, 1.5)
    assert rows["params"]["lr"] == (0.001, 0.002, 0.001)
    assert rows["params"]["model.x"] == (1, None, None)
    html = page.content.decode()
    assert 'data-key="model.x" class="jobs-differs"' in html and "+1.50" in html
    one = staff_client.post(
        changelist, {"action": "compare_selected", "_selected_action": [a.pk]}, follow=True
    )
    assert "Select exactly two versions" in one.content.decode()
    assert staff_client.get(reverse("admin:jobs_modelversion_compare") + "?a=1").status_code == 400
