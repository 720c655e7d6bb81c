"""The loop as staff drive it, on real (tiny) training runs: a run reports misclassified
sentences of its training documents, a flip there is learned by the next run (its
manifest says so), and removing it again is new data for the schedule."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import LabelOverride, SentenceError, TrainingRun
from jobs.services.manifests import learned_from
from jobs.services.reviews import revert_override
from jobs.services.training import retrain_if_new_data, retraining_plan, start_training
from jobs.workers import train as train_worker
from jobs.workers.training_data import build_training_data
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = [pytest.mark.usefixtures("training_dirs")]


@pytest.mark.django_db(transaction=True)
def test_a_flip_in_a_training_document_is_learned_by_the_next_scheduled_run(staff, settings):
    settings.SCHEDULED_TRAINING_PARAMS = tiny_params()
    docs = make_corpus(staff)
    train_ids = {d.pk for d in docs if d.split == "train"}
    first = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(first.pk)
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    plan = retraining_plan()
    assert not plan.start
    assert plan.reason == f"would not start: nothing new since run {first.pk}"

    on_training = SentenceError.objects.filter(run=first, split="train").order_by("pk")
    assert on_training.exists(), "an undertrained tiny model misclassifies training sentences"
    assert {e.document_id for e in on_training} <= train_ids
    error = on_training.first()

    # The list and the review page say what a flip of this sentence does.
    client = Client()
    client.force_login(staff)
    listing = client.get(reverse("admin:jobs_sentenceerror_changelist") + "?split__exact=train")
    assert set(listing.context["cl"].result_list) == set(on_training)
    assert "a flip changes what the next run learns" in listing.content.decode()
    review = client.get(
        reverse("admin:jobs_sentenceerror_review", args=[first.pk]) + f"?item={error.pk}"
    )
    assert "a training document: a flip changes what the next run learns" in (
        review.content.decode()
    )
    response = client.post(
        reverse("admin:jobs_sentenceerror_changelist"),
        {"action": "flip_labels", "_selected_action": [error.pk]},
        follow=True,
    )
    assert (
        "Flipped the gold label of 1 sentence: 1 in training documents (the next run learns "
        "them)." in response.content.decode()
    )

    # What the next run would train on carries the flip; the schedule sees it.
    data = build_training_data(TrainingRun(kind="bertsumext"))
    [example] = [ex for ex in data.train if ex.id == str(error.document_id)]
    assert example.labels == {error.sentence_index: 1 - error.label}
    plan = retraining_plan()
    assert plan.start and plan.reason == f"would start: 1 correction since run {first.pk}"

    second = retrain_if_new_data()
    assert second is not None and second.trigger == "schedule"
    train_worker.run(second.pk)
    second.refresh_from_db()
    assert second.status == "succeeded", second.error
    assert second.manifest["train"]["corrections"] == 1
    assert second.manifest["labels"] == [
        [error.document_id, error.sentence_index, 1 - error.label, "correction"]
    ]
    assert learned_from(second.manifest) == (
        "learned from 6 reference summaries, 0 staff-labelled documents, 1 correction; "
        "validated on 3 documents"
    )
    api = client.get(f"/api/training-runs/{second.pk}/").json()
    assert api["learned_from"] == learned_from(second.manifest)
    assert api["label_sources"]["train"]["corrections"] == 1
    page = client.get(reverse("admin:jobs_trainingrun_change", args=[second.pk]))
    assert "Learned from 6 reference summaries, 0 staff-labelled documents, 1 correction" in (
        page.content.decode()
    )
    assert retraining_plan().reason == f"would not start: nothing new since run {second.pk}"

    # Reverting the correction deletes its override: new data for the schedule.
    revert_override(LabelOverride.objects.get(), staff)
    plan = retraining_plan()
    assert plan.start and plan.reason == f"would start: 1 label removed since run {second.pk}"
