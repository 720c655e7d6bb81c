"""The `make demo` helpers: sample corpus, credentials, polling, output, runstack checks."""

from __future__ import annotations

import json
import socket
import stat

import pytest

from devstack import demo, processes
from devstack.management.commands import runstack
from devstack.supervisor import Supervisor
from jobs.services.documents import DocumentInput, validate_document
from ml.text.sentences import detect_language, split_sentences


def test_sample_corpus_is_valid_and_varied():
    docs = demo.load_corpus()
    assert 6 <= len(docs) <= 12
    assert len({d.id for d in docs}) == len(docs)
    languages = [detect_language(d.text) for d in docs]
    assert "ko" in languages
    for doc in docs:
        validate_document(
            DocumentInput(text=doc.text, title=doc.id, reference_summary=doc.reference_summary)
        )
        n = len(split_sentences(doc.text))
        assert 6 <= n <= 15, (doc.id, n)
        assert 2 <= len(doc.reference_summary.splitlines()) <= 3, doc.id


def test_load_corpus_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "x", "reference_summary": "y"}\n{"id": "b"}\n')
    with pytest.raises(demo.DemoError, match=r"bad.jsonl:2"):
        demo.load_corpus(path)


def test_batch_body_is_json_lines_with_titles():
    docs = demo.load_corpus()
    lines = demo.batch_body(docs).decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["title"] for r in records] == [d.id for d in docs]
    assert records[-1]["text"] == docs[-1].text  # Korean survives unescaped and intact


def test_credentials_are_generated_once_and_reused(tmp_path):
    first = demo.demo_credentials(tmp_path, environ={})
    assert first.username == "demo" and len(first.password) >= 12
    mode = stat.S_IMODE((tmp_path / "demo-credentials.json").stat().st_mode)
    assert mode == 0o600
    assert demo.demo_credentials(tmp_path, environ={}) == first


def test_credentials_from_environment_are_not_written(tmp_path):
    env = {"DJANGO_SUPERUSER_USERNAME": "ops", "DJANGO_SUPERUSER_PASSWORD": "s3cret-pass"}
    assert demo.demo_credentials(tmp_path, environ=env) == demo.Credentials("ops", "s3cret-pass")
    assert not (tmp_path / "demo-credentials.json").exists()


def test_ensure_demo_user_creates_staff_and_updates_password(db):
    from django.contrib.auth import get_user_model

    assert demo.ensure_demo_user(demo.Credentials("demo", "first-password")) is True
    assert demo.ensure_demo_user(demo.Credentials("demo", "second-password")) is False
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and user.is_superuser
    assert user.check_password("second-password")


def test_wait_for_summaries_polls_until_finished():
    answers = {1: ["queued", "running", "succeeded"], 2: ["failed"]}
    calls = []

    def fetch(sid):
        calls.append(sid)
        states = answers[sid]
        return {"id": sid, "status": states.pop(0) if len(states) > 1 else states[0]}

    done = demo.wait_for_summaries(fetch, [1, 2], sleep=lambda s: None)
    assert {k: v["status"] for k, v in done.items()} == {1: "succeeded", 2: "failed"}
    assert calls.count(2) == 1  # finished jobs are not polled again


def test_wait_for_summaries_times_out_naming_the_pending_ids():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(demo.DemoError, match=r"ids \[7\]"):
        demo.wait_for_summaries(
            lambda sid: {"status": "queued"}, [7], timeout=3, clock=lambda: now[0], sleep=sleep
        )


def test_format_summary_shows_model_and_selected_sentences_with_scores():
    data = {
        "id": 3,
        "status": "succeeded",
        "model": "lead3",
        "model_version": "builtin",
        "notes": "No trained BertSumExt model is active yet; used the lead3 baseline.",
        "sentences": [
            {"index": 0, "text": "First.", "start": 0, "end": 6, "score": 1.0, "selected": True},
            {"index": 1, "text": "Second.", "start": 7, "end": 14, "score": 0.5, "selected": False},
            {"index": 2, "text": "Third.", "start": 15, "end": 21, "score": 0.25, "selected": True},
        ],
    }
    out = demo.format_summary("bakery", data, reference="Gold one.\nGold two.")
    assert "== bakery (summary 3) ==" in out
    assert "model: lead3 (builtin)" in out
    assert "note: No trained BertSumExt" in out
    assert "selected 2 of 3 sentences" in out
    assert "[ 0] score 1.000  chars 0-6  First." in out
    assert "Second." not in out
    assert out.index("First.") < out.index("Third.")
    assert out.endswith("reference summary:\n  Gold one.\n  Gold two.")


def test_format_summary_shows_the_error_of_a_failed_job():
    out = demo.format_summary("x", {"id": 1, "status": "failed", "error": "boom", "model": ""})
    assert "status: failed" in out and "error: boom" in out


def test_port_in_use_detects_a_listening_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert processes.port_in_use(port)
    assert not processes.port_in_use(port)


def test_runstack_refuses_a_taken_port(settings, tmp_path):
    from django.core.management import CommandError, call_command

    settings.VAR_DIR = tmp_path
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(CommandError, match=rf"port {port} .* already in use"):
            call_command("runstack", "--port", str(port), "--no-tensorboard")


def test_health_problem_names_the_missing_component_and_its_log(tmp_path):
    cmd = Supervisor(runstack.Command(), {})
    cmd.children = [
        processes.Child(name, [], tmp_path / f"{name}.log", what)
        for name, what in [
            ("worker-inference", "the Celery inference worker"),
            ("worker-training", "the Celery training worker"),
            ("beat", "Celery beat"),
            ("web", "the web server (gunicorn)"),
        ]
    ]
    ok = ("database", "broker", "inference", "training", "beat")
    healthy = {c: "ok" for c in ok}
    assert cmd.health_problem(healthy) is None
    problem = cmd.health_problem({**healthy, "training": "missing: no worker ..."})
    assert "training worker is missing: no worker" in problem
    assert "worker-training.log" in problem
    problem = cmd.health_problem({**healthy, "beat": "missing: no beat tick"})
    assert "Celery beat is missing" in problem and "beat.log" in problem
    problem = cmd.health_problem({**healthy, "database": "down: OperationalError"})
    assert "database is down" in problem and "web.log" in problem


def test_training_leaves_the_held_out_documents_out():
    docs = demo.load_corpus()
    parts = demo.corpus_parts(docs)
    assert [len(parts[k]) for k in ("train", "held out", "validation")] == [4, 2, 3]
    assert [d for part in parts.values() for d in part] == docs[:4] + docs[4:6] + docs[6:]
    records = [json.loads(line) for line in demo.training_body(docs).decode().splitlines()]
    held = {d.id for d in parts["held out"]}
    assert held and not held & {r["title"] for r in records}
    assert [r["split"] for r in records] == ["train"] * 4 + ["validation"] * 3


def test_training_progress_has_step_elapsed_eta_and_says_when_it_validates():
    def run(status, step=0, total=0, loss=None):
        return {"status": status, "progress_step": step, "progress_total": total, "last_loss": loss}

    progress = demo.Progress(7, eval_every=12, now=0.0)
    assert progress.line(run("queued"), 0.0) == (
        "  run 7: queued, waiting for the training worker, 0:00 elapsed"
    )
    assert progress.line(run("queued"), 2.0) is None  # nothing new, and not 10 s yet
    assert "preparing" in progress.line(run("running"), 4.0)
    assert progress.line(run("running", 2, 24, 0.5), 20.0) == (
        "  run 7: training, step 2/24, 0:20 elapsed, loss 0.500"
    )
    # 10 s per step since step 2: 12 steps left at step 12 -> ETA 2:00.
    line = progress.line(run("running", 12, 24, 0.4), 120.0)
    assert line == (
        "  run 7: validating (and saving a checkpoint), step 12/24, 2:00 elapsed, "
        "ETA 2:00, loss 0.400"
    )
    # A long validation is not a silent gap: the same state is printed again every 10 s.
    assert progress.line(run("running", 12, 24, 0.4), 125.0) is None
    assert progress.line(run("running", 12, 24, 0.4), 131.0).startswith("  run 7: validating")
    assert "succeeded" in progress.line(run("succeeded", 24, 24, 0.3), 250.0)


def test_the_demo_says_whether_the_gate_promoted_and_why():
    promoted = {"label": "bertsumext v1", "is_active": True, "gate_note": "promoted: beats Lead-3"}
    kept = {
        "label": "bertsumext v1",
        "is_active": False,
        "gate_note": "not promoted: below Lead-3 by 0.81",
    }
    assert demo.promotion_text(promoted).startswith("Promoted bertsumext v1")
    assert "Gate: promoted: beats Lead-3" in demo.promotion_text(promoted)
    text = demo.promotion_text(kept)
    assert text.startswith("Not promoted: bertsumext v1 is kept but does not serve")
    assert "Gate: not promoted: below Lead-3 by 0.81" in text
    assert "too small" not in text


def test_the_demo_ends_with_urls_login_and_what_to_try(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    credentials = demo.demo_credentials(tmp_path, environ={})
    client = demo.ApiClient("http://127.0.0.1:8152")
    client.credentials = credentials
    lines = demo.ending_text(client).splitlines()
    text = "\n".join(lines)
    assert "http://127.0.0.1:8152/admin/" in text and "/api/docs/" in text
    assert f"username {credentials.username}" in text
    assert str(tmp_path / "demo-credentials.json") in text
    assert lines[-4].startswith("Try next:")
    assert lines[-1] == "Serving. Press Ctrl-C to stop."


class InProcessClient:
    """The demo's client calls, served by the product's own services and worker body."""

    base_url = "http://in-process"

    def __init__(self, owner):
        self.owner = owner

    def submit_batch(self, docs):
        from jobs.services.documents import submit_documents
        from jobs.workers import summarize as summarize_worker

        items = [DocumentInput(text=d.text, title=d.id) for d in docs]
        created = []
        for submission in submit_documents(self.owner, items):
            summarize_worker.run(submission.summary.pk)
            created.append(
                {"title": submission.document.title, "summary": {"id": submission.summary.pk}}
            )
        return created

    def summary(self, summary_id):
        from jobs.api.serializers import SummarySerializer
        from jobs.models import Summary

        return SummarySerializer(Summary.objects.get(pk=summary_id)).data


def test_the_demos_first_summaries_come_from_the_zero_label_default_and_say_so(db, settings):
    from io import StringIO

    from tests.factories import UserFactory

    settings.BERTSUMEXT_CHECKPOINT = ""
    docs = demo.load_corpus()[:3]
    out = StringIO()
    assert demo.run_demo(InProcessClient(UserFactory()), docs, out)
    text = out.getvalue()
    assert "Which model made them: 3 by default (builtin)." in text
    assert "default = the zero-label default: no trained model is active yet" in text
    assert text.count("model: default (builtin)") == 3
    assert text.count("note: zero-label default: position-aware centrality") == 3


def test_models_text_counts_each_model():
    results = [
        {"status": "succeeded", "model": "bertsumext", "model_version": "v2"},
        {"status": "succeeded", "model": "bertsumext", "model_version": "v2"},
        {"status": "failed", "model": "", "model_version": ""},
    ]
    assert demo.models_text(results) == "Which model made them: 2 by bertsumext (v2)."


@pytest.mark.django_db
def test_the_demo_says_plainly_its_corpus_is_too_small_to_promote(settings):
    """Its 3 validation documents are below PROMOTION_MIN_DOCUMENTS: said before training,
    and after it beside the gate's own note (the note as the gate writes it)."""
    from jobs.services.versions import apply_promotion_gate
    from tests.jobs.training_fixtures import measured_version

    settings.PROMOTION_MIN_DOCUMENTS = 30
    validation = len(demo.corpus_parts(demo.load_corpus())["validation"])
    before = demo.too_small_text(validation, settings.PROMOTION_MIN_DOCUMENTS)
    assert before.startswith(
        f"  Too small to promote: the sample corpus has {validation} validation documents and "
        "the promotion gate needs at least 30 (PROMOTION_MIN_DOCUMENTS)"
    )
    assert "`manage.py import_dataset`" in before and "then retrain" in before
    assert demo.too_small_text(30, 30) == ""

    # Far better than what serves on its 3 documents, and still not promoted.
    version = measured_version(
        "/v", candidate=[60.0, 61.0, 62.0], lead3=[20.0, 21.0, 22.0], fallback=[20.0] * 3
    )
    assert apply_promotion_gate(version) is False
    kept = {"label": "bertsumext v1", "is_active": False, "gate_note": version.gate_note}
    text = demo.promotion_text(kept)
    assert "only 3 validation documents" in text
    assert "The sample corpus is too small to promote any model" in text
