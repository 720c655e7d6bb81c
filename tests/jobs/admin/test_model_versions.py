"""Dashboard pages for model versions: promote and roll back, each confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from jobs.services.versions import promote
from tests.jobs.admin.helpers import make_version

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
