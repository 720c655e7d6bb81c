"""The review queue page: rank and threshold, next open item, undo, revert, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import LabelOverride, ReviewEvent, ReviewStatus, SentenceError, TrainingRun
from jobs.workers.training_data import build_training_data
from tests.jobs.admin.helpers import make_errors, make_review_run

pytestmark = pytest.mark.django_db


def review(run, item=None):
    url = reverse("admin:jobs_sentenceerror_review", args=[run.pk])
    return f"{url}?item={item.pk}" if item else url


def act(client, run, error, action):
    url = reverse("admin:jobs_sentenceerror_review_action", args=[run.pk, error.pk, action])
    return client.post(url)


def test_the_page_shows_rank_scores_reference_and_shortcuts(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    response = staff_client.get(review(run, errors[2]))
    html = response.content.decode()
    assert response.context["why"] == "rank 3 of 3 selected, score 0.01"
    assert "5 open sentences" in html and "5 misclassified sentences" in html
    # Every sentence of the document carries the run's score; the current one is marked.
    assert html.count('class="jobs-score"') == 5
    assert html.count("jobs-current") >= 1 and "two thousand people" in html
    assert "<kbd>f</kbd>" in html and "<kbd>u</kbd>" in html
    fn = staff_client.get(review(run, errors[4])).context["why"]
    assert fn == "rank 5 of 5, not selected (score 0.00; lowest selected 0.01)"


def test_a_run_without_predictions_still_says_why(staff_client, staff):
    run, _, errors = make_errors(staff)
    assert staff_client.get(review(run, errors[0])).context["why"] == "selected, score 0.95"


def test_each_decision_moves_to_the_next_open_item(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    response = act(staff_client, run, errors[0], "flip")
    assert response.url == review(run, errors[1])
    act(staff_client, run, errors[2], "confirm")
    assert act(staff_client, run, errors[1], "confirm").url == review(run, errors[3])
    act(staff_client, run, errors[3], "flip")
    # The last open one: the next is the first still open (none before it) → done.
    assert act(staff_client, run, errors[4], "flip").url == review(run, errors[4]) + "&done=1"
    page = staff_client.get(review(run, errors[4]) + "&done=1").content.decode()
    assert "0 open sentences" in page and "Every sentence of this run is reviewed" in page


def test_undo_restores_the_state_before_and_keeps_the_history(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    act(staff_client, run, errors[0], "flip")
    act(staff_client, run, errors[1], "confirm")
    undo = reverse("admin:jobs_sentenceerror_review_undo", args=[run.pk])
    response = staff_client.post(undo)  # the newest decision: the confirm of errors[1]
    assert response.url == review(run, errors[1])
    statuses = dict(SentenceError.objects.values_list("pk", "review_status"))
    assert statuses[errors[1].pk] == ReviewStatus.OPEN
    assert statuses[errors[0].pk] == ReviewStatus.FLIPPED
    staff_client.post(undo)  # then the flip: its override goes
    assert not LabelOverride.objects.exists()
    assert SentenceError.objects.filter(review_status=ReviewStatus.OPEN).count() == 5
    history = list(ReviewEvent.objects.order_by("id").values_list("action", "by"))
    assert history == [(a, staff.pk) for a in ("flip", "confirm", "undo", "undo")]
    assert ReviewEvent.objects.filter(undone_at__isnull=False).count() == 2
    html = staff_client.get(review(run)).content.decode()
    assert "Undid a decision" in html and "in summary → oracle label" in html
    # Nothing left to undo: a warning, not an error page.
    response = staff_client.post(undo, follow=True)
    assert "Nothing to undo in this run." in response.content.decode()


def test_undo_of_one_item_and_revert_of_an_override(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    act(staff_client, run, errors[3], "flip")
    act(staff_client, run, errors[0], "flip")
    act(staff_client, run, errors[3], "undo")  # not the newest decision: any one can be undone
    assert set(LabelOverride.objects.values_list("sentence_index", "label")) == {(0, 1)}
    page = staff_client.get(reverse("admin:jobs_labeloverride_changelist")).content.decode()
    assert errors[0].text in page and 'form="jobs-revert"' in page
    override = LabelOverride.objects.get()
    response = staff_client.post(
        reverse("admin:jobs_labeloverride_revert", args=[override.pk]), follow=True
    )
    assert "Reverted the staff label of" in response.content.decode()
    assert not LabelOverride.objects.exists()
    assert SentenceError.objects.get(pk=errors[0].pk).review_status == ReviewStatus.OPEN
    data = build_training_data(TrainingRun(kind="bertsumext"))
    assert data.summary["label_overrides"] == 0 and data.manifest["labels"] == []
    history = staff_client.get(reverse("admin:jobs_reviewevent_changelist")).content.decode()
    assert "Reverted a label override" in history and "in summary → oracle label" in history


def test_decisions_need_post_and_the_change_permission(staff_client, staff, user):
    run, errors = make_review_run(staff, documents=1)
    url = reverse("admin:jobs_sentenceerror_review_action", args=[run.pk, errors[0].pk, "flip"])
    assert staff_client.get(url).status_code == 302
    assert SentenceError.objects.get(pk=errors[0].pk).review_status == ReviewStatus.OPEN
    bad = reverse("admin:jobs_sentenceerror_review_action", args=[run.pk, errors[0].pk, "nuke"])
    assert "nknown review action" in staff_client.post(bad, follow=True).content.decode()
    user.is_staff = True
    user.save()
    from django.test import Client

    viewer = Client()
    viewer.force_login(user)  # staff without any permission on the review rows: not even look
    assert viewer.get(review(run)).status_code == 403
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_sentenceerror"))
    viewer.force_login(type(user).objects.get(pk=user.pk))  # a fresh permission cache
    assert viewer.get(review(run)).status_code == 200  # with view only: may look, not decide
    assert viewer.post(url).status_code == 403


def test_bulk_messages_use_the_right_plural(staff_client, staff):
    _, _, errors = make_errors(staff)
    url = reverse("admin:jobs_sentenceerror_changelist")
    response = staff_client.post(
        url, {"action": "confirm_labels", "_selected_action": [errors[0].pk]}, follow=True
    )
    assert "Confirmed the gold label of 1 sentence." in response.content.decode()


def test_a_training_documents_page_shows_the_runs_scores(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    url = reverse("admin:jobs_document_change", args=[errors[0].document_id])
    for query in ("", f"?run={run.pk}"):  # no summary: the newest run's predictions
        response = staff_client.get(url + query)
        html = response.content.decode()
        assert 'data-testid="run-scores"' in html and "no finished summary yet" in html
        assert html.count('data-score="0.') == 5  # every sentence carries the run's score
        assert response.context["view"].rouge is not None
    assert staff_client.get(url + "?run=999").status_code == 404


def test_the_list_has_flip_and_confirm_on_every_row(staff_client, staff):
    run, errors = make_review_run(staff, documents=1)
    listing = reverse("admin:jobs_sentenceerror_changelist") + f"?run__id__exact={run.pk}"
    html = staff_client.get(listing).content.decode()
    assert html.count('form="jobs-review"') == 2 * len(errors) and 'id="jobs-review"' in html
    assert "rank 3 of 3 selected, score 0.01" in html  # rank and threshold, not a bare FP
    url = reverse("admin:jobs_sentenceerror_review_action", args=[run.pk, errors[1].pk, "flip"])
    response = staff_client.post(url + "?back=1", HTTP_REFERER="http://testserver" + listing)
    assert response.url == "http://testserver" + listing  # back to the same (filtered) list
    assert SentenceError.objects.get(pk=errors[1].pk).review_status == ReviewStatus.FLIPPED
    elsewhere = staff_client.post(url + "?back=1", HTTP_REFERER="https://evil.example/")
    assert elsewhere.url == reverse("admin:jobs_sentenceerror_changelist")
