"""The front page's Queues and Workers sections (real Redis; no worker here)."""

import re

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from tests.factories import SummaryFactory

pytestmark = pytest.mark.django_db


def test_front_page_shows_queue_depth_and_says_no_worker_answered(staff_client, settings):
    settings.MONITORING_INSPECT_TIMEOUT = 0.2
    settings.MONITORING_CACHE_SECONDS = 0
    SummaryFactory(status=JobStatus.RUNNING)
    SummaryFactory(status=JobStatus.QUEUED)
    html = staff_client.get(reverse("admin:index")).content.decode()
    row = re.search(r'<tr data-queue="inference">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", re.sub(r"\s+", " ", row))
    assert cells[0] == "inference" and cells[2:] == ["1", "1"]  # queued 1, running 1
    assert cells[1].isdigit()  # what Redis holds (the suite's other tests may add some)
    assert "Workers: no worker answered" in html
    assert 'href="/admin/flower/" data-testid="flower-link"' in html
