"""The review queue: misclassified sentences in context, flip and confirm."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import (
    LabelOverride,
    SentenceError,
    TrainingRun,
)
from jobs.queries.documents import sentence_context
from jobs.workers.training_data import build_training_data
from ml.text.sentences import split_sentences
from tests.jobs.admin.helpers import make_errors

pytestmark = pytest.mark.django_db


def test_sentence_errors_in_context_with_filters(staff_client, staff):
    run, document, errors = make_errors(staff)
    url = reverse("admin:jobs_sentenceerror_changelist")
    response = staff_client.get(url)
    html = response.content.decode()
    spans = split_sentences(document.text)
    # Sentence 1 shown between its neighbours.
    before, sentence, after = sentence_context(errors[1])
    assert (before, sentence, after) == (spans[0].text, spans[1].text, spans[2].text)
    assert f'<mark class="jobs-context-fn">{spans[1].text}</mark>' in html
    assert response.context["runs_with_errors"][0][0].open_errors == 3

    def listed(query):
        return set(staff_client.get(url + query).context["cl"].result_list)

    assert listed("?kind__exact=fp") == {errors[0], errors[2]}
    assert listed("?probability=0.9-1") == {errors[0]}
    assert listed("?probability=0.5-0.7") == {errors[2]}
    assert listed(f"?run__id__exact={run.pk}") == set(errors)
    assert listed(f"?document__id__exact={document.pk}&reviewed=no") == set(errors)
    assert listed("?reviewed=yes") == set()


def test_flip_and_confirm_actions_feed_the_next_run(staff_client, staff):
    _, _, errors = make_errors(staff)
    url = reverse("admin:jobs_sentenceerror_changelist")
    response = staff_client.post(
        url,
        {"action": "flip_labels", "_selected_action": [errors[0].pk, errors[1].pk]},
        follow=True,
    )
    assert (
        "Flipped the gold label of 2 sentences: 2 in validation documents (the next run is "
        "judged by them, it does not learn them)." in response.content.decode()
    )
    overrides = {o.sentence_index: o.label for o in LabelOverride.objects.all()}
    assert overrides == {0: 1, 1: 0}  # each flipped from its gold label
    staff_client.post(url, {"action": "confirm_labels", "_selected_action": [errors[2].pk]})
    statuses = dict(SentenceError.objects.values_list("sentence_index", "review_status"))
    assert statuses == {0: "flipped", 1: "flipped", 2: "confirmed"}
    # The runs list counts what is still open. These are validation documents: the next
    # run is judged with the flipped labels and learns none of them.
    runs = staff_client.get(reverse("admin:jobs_trainingrun_changelist")).context["cl"].result_list
    assert [(r.open_errors, r.flipped_errors, r.all_errors) for r in runs] == [(0, 2, 3)]
    data = build_training_data(TrainingRun(kind="bertsumext"))
    [validation] = data.val
    assert validation.labels == {0: 1, 1: 0} and not data.train
    assert data.manifest["validation"]["corrections"] == 2
    assert staff_client.get(url + "?reviewed=no").context["cl"].result_count == 0
