"""Dashboard pages for documents and summaries: highlights, filters, requeue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import (
    JobStatus,
    LabelOverride,
)
from ml.text.rouge import score_summary
from ml.text.sentences import split_sentences
from tests.factories import ARTICLE, DocumentFactory, SummaryFactory, UserFactory
from tests.jobs.admin.helpers import REFERENCE, succeeded_summary

pytestmark = pytest.mark.django_db


def test_document_page_highlights_the_latest_summary_and_scores_it(staff_client, staff):
    document = DocumentFactory(owner=staff, reference_summary=REFERENCE)
    succeeded_summary(document, selected=(4,))  # an older summary
    latest = succeeded_summary(document, selected=(0, 2))
    LabelOverride.objects.create(document=document, sentence_index=3, label=1)

    response = staff_client.get(reverse("admin:jobs_document_change", args=[document.pk]))
    assert response.status_code == 200
    view = response.context["view"]
    assert view.summary == latest
    assert [s.index for s in view.selected] == [0, 2]
    # The segments put the whole text back together, sentences at their offsets.
    assert "".join(seg.text for seg in view.segments) == document.text
    intensities = [seg.sentence.intensity for seg in view.segments if seg.sentence]
    assert intensities[0] == 1.0 and intensities == sorted(intensities, reverse=True)
    spans = split_sentences(ARTICLE)
    expected = score_summary([spans[0].text, spans[2].text], REFERENCE)
    assert view.rouge == pytest.approx(expected)
    html = response.content.decode()
    assert html.count('aria-label="selected"') == 2  # ticks in the text
    assert "jobs-override" in html  # sentence 3 carries a staff label
    assert f"{expected['rouge1']:.2f}" in html
    assert "Organisers said two thousand people lined the banks." in html  # the reference

    # ?summary= shows an older summary on the same text.
    older = document.summaries.order_by("id").first()
    response = staff_client.get(
        reverse("admin:jobs_document_change", args=[document.pk]) + f"?summary={older.pk}"
    )
    assert [s.index for s in response.context["view"].selected] == [4]


def test_document_without_reference_or_summary_shows_the_plain_text(staff_client, staff):
    document = DocumentFactory(owner=staff, text="One <b>bold</b> claim. Another one here.")
    response = staff_client.get(reverse("admin:jobs_document_change", args=[document.pk]))
    html = response.content.decode()
    assert response.context["view"].rouge is None
    assert "no finished summary yet" in html and "has no reference summary" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # document text is escaped


def test_document_search_and_filters(staff_client, staff):
    other = UserFactory(username="other-owner")
    with_ref = DocumentFactory(
        owner=staff, title="Harbour report", split="train", reference_summary="x"
    )
    without = DocumentFactory(owner=other, title="Market notes", split="validation")
    url = reverse("admin:jobs_document_changelist")

    def listed(query):
        response = staff_client.get(url + query)
        assert response.status_code == 200
        return set(response.context["cl"].result_list)

    assert listed("?has_reference=yes") == {with_ref}
    assert listed("?has_reference=no") == {without}
    assert listed("?split__exact=validation") == {without}
    assert listed(f"?owner__id__exact={other.pk}") == {without}
    assert listed("?q=harbour") == {with_ref}


def test_summary_list_filters_shows_errors_and_requeues(staff_client, staff):
    failed = SummaryFactory(status=JobStatus.FAILED, model="textrank", error="ValueError: boom")
    ok = succeeded_summary(DocumentFactory(owner=staff))
    url = reverse("admin:jobs_summary_changelist")
    response = staff_client.get(url + "?status__exact=failed")
    assert list(response.context["cl"].result_list) == [failed]
    assert "ValueError: boom" in response.content.decode()
    assert list(staff_client.get(url + "?model__exact=lead3").context["cl"].result_list) == [ok]
    assert list(staff_client.get(url + "?model_version=builtin").context["cl"].result_list) == [ok]

    page = staff_client.get(reverse("admin:jobs_summary_change", args=[failed.pk]))
    assert 'data-testid="summary-error"' in page.content.decode()
    assert b"Save" not in page.content  # read-only

    response = staff_client.post(
        url, {"action": "requeue", "_selected_action": [failed.pk, ok.pk]}, follow=True
    )
    assert "Requeued 1 of 2 summaries" in response.content.decode()
    failed.refresh_from_db()
    ok.refresh_from_db()
    assert failed.status == JobStatus.QUEUED and failed.error == ""
    assert ok.status == JobStatus.SUCCEEDED
