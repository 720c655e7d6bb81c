"""Services: submission, the job state machine, idempotency and the reaper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Document, JobStatus, Summary
from jobs.services import documents
from tests.factories import ARTICLE, DocumentFactory, SummaryFactory

pytestmark = pytest.mark.django_db


def test_submit_document_stores_document_and_queues_summary(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        sub = services.submit_document(user, services.DocumentInput(text=ARTICLE, title="Fest"))
    assert sub.document.owner == user
    assert sub.document.language == "en"
    assert len(sub.document.sha256) == 64
    assert sub.summary.status == JobStatus.QUEUED
    assert sub.summary.enqueued_at is not None
    # Exactly one message, sent only after the transaction commits.
    assert len(callbacks) == 1


def test_submit_without_summarize_creates_no_summary(user):
    sub = services.submit_document(user, services.DocumentInput(text=ARTICLE, summarize=False))
    assert sub.summary is None
    assert not Summary.objects.exists()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (services.DocumentInput(text="   \n "), "text"),
        (services.DocumentInput(text=ARTICLE, model="gpt"), "model"),
        (services.DocumentInput(text=ARTICLE, max_sentences=0), "max_sentences"),
        (services.DocumentInput(text=ARTICLE, max_sentences=99), "max_sentences"),
        (services.DocumentInput(text="a\x00b"), "text"),
        (services.DocumentInput(text=ARTICLE, split="holdout"), "split"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(user, item, field):
    with pytest.raises(services.InvalidInput) as err:
        services.submit_document(user, item)
    assert err.value.field == field
    assert not Document.objects.exists()


def test_untrained_model_is_refused_with_the_available_ones(user, settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    with pytest.raises(services.InvalidInput, match="no trained version yet; available: lead3"):
        services.submit_document(user, services.DocumentInput(text=ARTICLE, model="bertsumext"))


def test_batch_is_all_or_nothing(user):
    items = [services.DocumentInput(text=ARTICLE), services.DocumentInput(text=" ")]
    with pytest.raises(services.BatchInvalid) as err:
        services.submit_documents(user, items)
    assert list(err.value.errors) == [1]
    assert not Document.objects.exists()


def test_run_summary_default_falls_back_to_lead3_and_says_so(settings):
    settings.BERTSUMEXT_CHECKPOINT = ""
    summary = SummaryFactory()
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED
    assert summary.model == "lead3"
    assert "lead3" in summary.notes
    assert summary.attempts == 1
    text = summary.document.text
    assert [s["selected"] for s in summary.sentences] == [True, True, True, False, False]
    for s in summary.sentences:
        assert text[s["start"] : s["end"]] == s["text"]
    assert summary.summary_text.startswith("The river festival opened")


def test_run_summary_textrank_selects_in_document_order():
    summary = SummaryFactory(requested_model="textrank", max_sentences=2)
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.SUCCEEDED
    assert summary.model == "textrank"
    selected = [s["index"] for s in summary.sentences if s["selected"]]
    assert len(selected) == 2
    assert selected == sorted(selected)


def test_run_summary_is_idempotent_for_finished_jobs():
    summary = SummaryFactory()
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    finished_at = summary.finished_at
    services.run_summary(summary.pk)  # a redelivered message
    summary.refresh_from_db()
    assert summary.attempts == 1
    assert summary.finished_at == finished_at


def test_run_summary_leaves_a_live_lease_alone():
    summary = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.RUNNING
    assert summary.attempts == 1


def test_run_summary_for_missing_row_is_a_noop():
    services.run_summary(987654)  # must not raise


def test_attempt_cap_turns_a_poison_job_into_failed(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    summary = SummaryFactory(status=JobStatus.QUEUED, attempts=2)
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert "gave up after 2 attempts" in summary.error


def test_engine_error_is_recorded_as_failed(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(documents, "summarize_text", boom)
    summary = SummaryFactory()
    services.run_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED
    assert summary.error == "RuntimeError: model exploded"


def test_result_of_an_attempt_that_lost_its_lease_is_discarded():
    summary = SummaryFactory()
    claimed = documents._claim(summary.pk)
    assert claimed is not None
    _, lease = claimed
    # The reaper gave the job to another attempt meanwhile.
    Summary.objects.filter(pk=summary.pk).update(lease_token=None, status=JobStatus.QUEUED)
    assert documents._finish(summary.pk, lease, status=JobStatus.SUCCEEDED) is False
    summary.refresh_from_db()
    assert summary.status == JobStatus.QUEUED


def test_reaper_requeues_stale_running_and_resends_old_queued(
    settings, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(hours=1)
    stale = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=old)
    live = SummaryFactory(status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    lost = SummaryFactory(status=JobStatus.QUEUED, enqueued_at=old)
    fresh = SummaryFactory(status=JobStatus.QUEUED, enqueued_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.reap_stale_jobs()
    assert result.requeued == 2
    assert len(callbacks) == 2
    for s in (stale, live, lost, fresh):
        s.refresh_from_db()
    assert stale.status == JobStatus.QUEUED and stale.lease_token is None
    assert live.status == JobStatus.RUNNING
    assert lost.enqueued_at > old
    # The requeued job then runs to completion.
    services.run_summary(stale.pk)
    stale.refresh_from_db()
    assert stale.status == JobStatus.SUCCEEDED
    assert stale.attempts == 2


def test_reaper_fails_a_stale_job_past_the_attempt_cap(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    old = timezone.now() - timedelta(hours=1)
    summary = SummaryFactory(status=JobStatus.RUNNING, attempts=3, heartbeat_at=old)
    assert services.reap_stale_jobs().failed == 1
    summary.refresh_from_db()
    assert summary.status == JobStatus.FAILED


def test_requeue_only_failed_or_cancelled():
    done = SummaryFactory(status=JobStatus.SUCCEEDED)
    failed = SummaryFactory(status=JobStatus.FAILED, attempts=3, error="x")
    assert services.requeue_summary(done) is False
    assert services.requeue_summary(failed) is True
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == (JobStatus.QUEUED, 0, "")


def test_request_summary_for_existing_document(user):
    doc = DocumentFactory(owner=user)
    summary = services.request_summary(doc, user, model="textrank", max_sentences=1)
    assert summary.requested_model == "textrank"
    assert summary.max_sentences == 1


def test_import_examples_skips_duplicates(user):
    from ml.text.data import Example

    examples = [Example("a", ARTICLE, "Ref one."), Example("b", ARTICLE + " More.", "Ref.")]
    assert services.import_examples(user, examples, "train") == (2, 0)
    assert services.import_examples(user, examples, "train") == (0, 2)
    assert Document.objects.filter(split="train").count() == 2
    assert Document.objects.get(source_id="a").reference_summary == "Ref one."
