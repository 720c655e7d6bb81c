"""A real (tiny) training run on staff-labelled uploads without reference summaries:
it trains on their labels and validates on them, the selected sentences standing in
as the reference (issue #22)."""

import pytest

from jobs.models import JobStatus, RunPrediction, TrainingRun
from jobs.services.documents import DocumentInput, submit_document
from jobs.services.reviews import set_labels
from jobs.services.training import start_training
from jobs.workers import train as train_worker
from tests.jobs.training_fixtures import make_corpus, tiny_params

pytestmark = pytest.mark.usefixtures("training_dirs")

TEXTS = [
    "The council met on Monday night. It voted to close the bridge. Repairs start in May. "
    "Drivers should use the ring road. The mayor thanked the engineers.",
    "A storm cut power to the valley. Crews worked through the night. Most homes had power "
    "by noon. Schools stayed closed. The river is expected to rise.",
]


@pytest.mark.django_db(transaction=True)
def test_a_run_trains_and_validates_on_staff_labels_alone(staff, user, settings):
    settings.PROMOTION_TOLERANCE = 100.0  # the tiny model only has to run
    make_corpus(staff, train=4, val=0)
    uploads = [
        submit_document(user, DocumentInput(text=t, summarize=False)).document for t in TEXTS
    ]
    settings.LABELLED_VALIDATION_FRACTION = 0.0  # the first labelled text: train
    set_labels(uploads[0], {1: 1, 2: 1}, staff)
    settings.LABELLED_VALIDATION_FRACTION = 1.0  # the second: validation
    set_labels(uploads[1], {0: 1, 2: 1, 4: 0}, staff)

    run = start_training("bertsumext", params=tiny_params(), triggered_by=staff)
    train_worker.run(run.pk)
    run = TrainingRun.objects.get(pk=run.pk)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.data_summary["train_documents"] == 5
    assert run.data_summary["validation_documents"] == 1
    assert run.data_summary["label_overrides"] == 5
    # Validation ROUGE against the staff-selected sentences, beside Lead-3's.
    assert run.metrics["val_rouge1"] > 0 and run.metrics["lead3_rouge1"] > 0
    [prediction] = RunPrediction.objects.filter(run=run)
    assert prediction.document_id == uploads[1].pk
    assert [row["label"] for row in prediction.sentences] == [1, 0, 1, 0, 0]
