"""The `make demo` client: submit the sample corpus through the REST API and print results.

It talks HTTP with the standard library only, exactly as an outside client
would (token, JSON Lines batch upload, polling), so the demo exercises the real
web server, broker and inference worker rather than calling services directly.
The demo user's credentials are kept in ``var/`` so reruns reuse them.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from .demo_client import (  # noqa: F401  (the demo's names, as before the split)
    SAMPLE_CORPUS,
    TERMINAL,
    ApiClient,
    Credentials,
    DemoError,
    SampleDocument,
    batch_body,
    format_summary,
    load_corpus,
    wait_for_summaries,
)

# --- demo user ------------------------------------------------------------------


def demo_credentials(var_dir: Path, environ: Mapping[str, str] | None = None) -> Credentials:
    """DJANGO_SUPERUSER_USERNAME/PASSWORD when set, else ``demo`` and a password
    generated once and kept in ``var/demo-credentials.json`` (mode 600)."""
    if environ is None:
        environ = os.environ
    stored_path = var_dir / "demo-credentials.json"
    stored: dict[str, str] = {}
    if stored_path.exists():
        try:
            stored = json.loads(stored_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            stored = {}
    username = environ.get("DJANGO_SUPERUSER_USERNAME") or stored.get("username") or "demo"
    password = environ.get("DJANGO_SUPERUSER_PASSWORD") or (
        stored.get("password") if stored.get("username") == username else None
    )
    if not password:
        password = secrets.token_urlsafe(12)
    if not environ.get("DJANGO_SUPERUSER_PASSWORD"):
        # Only a generated password is written down; one given in the environment stays there.
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(stored_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"username": username, "password": password}, f)
    return Credentials(username, password)


def ensure_demo_user(credentials: Credentials) -> bool:
    """Create (or update) the staff superuser; returns whether it was created."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user, created = User.objects.get_or_create(username=credentials.username)
    changed = created or not user.check_password(credentials.password)
    if changed:
        user.set_password(credentials.password)
    if not (user.is_staff and user.is_superuser and user.is_active):
        user.is_staff = user.is_superuser = user.is_active = True
        changed = True
    if changed:
        user.save()
    return created


def connect(
    base_url: str, credentials: Credentials, corpus: Path = SAMPLE_CORPUS
) -> tuple[ApiClient, list[SampleDocument]]:
    """A logged-in client and the corpus, for run_demo and train_and_summarize."""
    docs = load_corpus(corpus)
    client = ApiClient(base_url)
    client.login(credentials)
    return client, docs


def run_demo(
    client: ApiClient, docs: list[SampleDocument], out: TextIO, timeout: float = 300.0
) -> bool:
    """Submit the corpus, wait for its summaries and print them. True if all succeeded."""
    batch_url = f"{client.base_url}/api/documents/batch/"
    out.write(f"Submitting {len(docs)} sample documents to {batch_url} ...\n")
    created = client.submit_batch(docs)
    titles = {d["summary"]["id"]: d["title"] for d in created if d.get("summary")}
    references = {d.id: d.reference_summary for d in docs}
    if len(titles) != len(docs):
        raise DemoError(f"expected {len(docs)} queued summaries, the API returned {len(titles)}")
    began = time.monotonic()
    results = wait_for_summaries(client.summary, list(titles), timeout=timeout)
    out.write(
        f"All {len(results)} summaries finished in {time.monotonic() - began:.1f}s "
        "(computed by the Celery inference worker).\n\n"
    )
    out.write(models_text(results.values()) + "\n\n")
    for sid, title in titles.items():
        out.write(format_summary(title, results[sid], references.get(title, "")) + "\n\n")
    return all(r.get("status") == "succeeded" for r in results.values())


def models_text(results: Iterable[dict[str, Any]]) -> str:
    """Which model made the summaries, and what the zero-label default is when it did."""
    counts = Counter(
        f"{r.get('model') or '?'} ({r.get('model_version') or '?'})"
        for r in results
        if r.get("status") == "succeeded"
    )
    made = ", ".join(f"{n} by {model}" for model, n in counts.items()) or "none succeeded"
    text = f"Which model made them: {made}."
    if any(key.startswith("default ") for key in counts):
        text += (
            "\n  default = the zero-label default: no trained model is active yet, so an "
            "unsupervised scorer (position-aware centrality, adapted to news, long documents "
            "and dialogues) serves."
        )
    return text


# --- training a small BertSumExt on the sample corpus -----------------------------------

# A few minutes on two CPU cores with the packaged all-MiniLM-L6-v2 encoder. Far too
# little data for a good model: the point is to show the loop (train, log to
# TensorBoard, validate beside Lead-3/TextRank, the gate, serve), not the quality.
DEMO_TRAINING_PARAMS = {
    "max_steps": 24,
    "batch_size": 4,
    "warmup_steps": 4,
    "lr": 1e-4,
    "eval_every": 12,
    "log_every": 2,
    "summary_sentences": 3,
}
VALIDATION_DOCS = 3  # the last documents of the corpus validate
HELD_OUT_DOCS = 2  # the two before them are neither trained nor validated on
PROGRESS_EVERY = 10.0  # seconds: a line at least this often, so there is no silent gap


def corpus_parts(docs: list[SampleDocument]) -> dict[str, list[SampleDocument]]:
    """The corpus cut into training, validation and held-out documents."""
    cut = len(docs) - VALIDATION_DOCS - HELD_OUT_DOCS
    return {
        "train": docs[:cut],
        "held out": docs[cut : cut + HELD_OUT_DOCS],
        "validation": docs[cut + HELD_OUT_DOCS :],
    }


def training_body(docs: list[SampleDocument]) -> bytes:
    """JSON Lines: the training and validation documents (the held-out ones stay out)."""
    parts = corpus_parts(docs)
    lines = (
        json.dumps(
            {
                "title": d.id,
                "text": d.text,
                "reference_summary": d.reference_summary,
                "split": split,
                "summarize": False,
            },
            ensure_ascii=False,
        )
        for split in ("train", "validation")
        for d in parts[split]
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def active_version(client: ApiClient, kind: str = "bertsumext") -> dict[str, Any] | None:
    for version in client.request("GET", "/api/models/")["results"]:
        if version["kind"] == kind and version["is_active"]:
            return version
    return None


def run_version(client: ApiClient, run_id: int) -> dict[str, Any] | None:
    for version in client.request("GET", "/api/models/")["results"]:
        if version["run"] == run_id:
            return version
    return None


def clock_text(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class Progress:
    """One line per change of a run, and at least every PROGRESS_EVERY seconds: step
    N/total, elapsed, ETA, and what it is doing while the step does not move."""

    def __init__(self, run_id: int, eval_every: int, now: float):
        self.run_id, self.eval_every, self.began = run_id, eval_every, now
        self.first: tuple[float, int] | None = None  # (when, step) of the first step seen
        self.last_line: tuple[Any, ...] | None = None
        self.last_time = now

    def phase(self, run: dict[str, Any]) -> str:
        step, total = run["progress_step"], run["progress_total"]
        if run["status"] == "queued":
            return "queued, waiting for the training worker"
        if run["status"] != "running":
            return run["status"]
        if not total:
            return "preparing: loading the encoder, labelling sentences, baselines"
        if step and (step == total or step % self.eval_every == 0):
            return "validating (and saving a checkpoint)"
        return "training"

    def line(self, run: dict[str, Any], now: float) -> str | None:
        step, total = run["progress_step"], run["progress_total"]
        shown = (run["status"], step, self.phase(run))
        if shown == self.last_line and now - self.last_time < PROGRESS_EVERY:
            return None
        self.last_line, self.last_time = shown, now
        if step and self.first is None:
            self.first = (now, step)
        parts = [f"  run {self.run_id}: {self.phase(run)}"]
        if total:
            parts.append(f"step {step}/{total}")
        parts.append(f"{clock_text(now - self.began)} elapsed")
        if self.first and total and step > self.first[1] and step < total:
            rate = (now - self.first[0]) / (step - self.first[1])
            parts.append(f"ETA {clock_text(rate * (total - step))}")
        if run.get("last_loss") is not None:
            parts.append(f"loss {run['last_loss']:.3f}")
        return ", ".join(parts)


def wait_for_run(
    client: ApiClient,
    run_id: int,
    out: TextIO,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll a training run, printing its progress, until it finishes."""
    deadline = clock() + timeout
    progress = Progress(run_id, int(DEMO_TRAINING_PARAMS["eval_every"]), clock())
    while True:
        run = client.request("GET", f"/api/training-runs/{run_id}/")
        line = progress.line(run, clock())
        if line:
            out.write(line + "\n")
            out.flush()
        if run["status"] in TERMINAL:
            return run
        if clock() >= deadline:
            raise DemoError(
                f"training run {run_id} not finished after {timeout:.0f}s; "
                "see var/log/worker-training.log"
            )
        sleep(2.0)


def rouge_line(name: str, r1: float, r2: float, rl: float) -> str:
    return f"  {name:<14} ROUGE-1/2/Lsum {r1:5.2f} / {r2:5.2f} / {rl:5.2f}"


def format_run(run: dict[str, Any]) -> str:
    m = run.get("metrics") or {}
    lines = [f"Training run {run['id']}: {run['status']} on {run.get('device') or '?'}"]
    if run["status"] != "succeeded":
        lines.append(f"  error: {run.get('error') or '(none given)'}")
        return "\n".join(lines)
    lines.append("  on its validation documents:")
    for name, prefix in (("BertSumExt", "val_"), ("Lead-3", "lead3_"), ("TextRank", "textrank_")):
        if f"{prefix}rouge1" in m:
            keys = (f"{prefix}rouge1", f"{prefix}rouge2", f"{prefix}rougeLsum")
            lines.append(rouge_line(name, *(m[k] for k in keys)))
    lines.append(f"  TensorBoard: {run['tensorboard_url']}")
    return "\n".join(lines)


def too_small_text(validation_docs: int, min_documents: int) -> str:
    """Said before training when the corpus cannot pass the gate, whatever the model."""
    if validation_docs >= min_documents:
        return ""
    return (
        f"  Too small to promote: the sample corpus has {validation_docs} validation "
        f"documents and the promotion gate needs at least {min_documents} "
        "(PROMOTION_MIN_DOCUMENTS) to tell a better model from noise, so this run shows the "
        "loop, not a model to serve: the zero-label default keeps serving. To train one "
        f"that can be promoted, import at least {min_documents} documents of your own with "
        "a reference summary into the validation split (`manage.py import_dataset`, or "
        "staff-labelled documents), then retrain.\n"
    )


def promotion_text(version: dict[str, Any] | None) -> str:
    """Whether the gate promoted the run's version, and its own words for why."""
    if version is None:
        return "The run produced no model version."
    note = version.get("gate_note") or "(no gate note)"
    if version["is_active"]:
        return f"Promoted {version['label']}: it serves the default summaries now. Gate: {note}"
    text = (
        f"Not promoted: {version['label']} is kept but does not serve; the default summaries "
        "stay with what served before (the zero-label default while no BertSumExt is "
        f"active). Gate: {note}\n"
    )
    if "validation documents with a reference summary; the gate needs at least" in note:
        text += (
            "  The sample corpus is too small to promote any model: add validation documents "
            "(import or label them), then retrain.\n"
        )
    return text + (
        "  Staff can still promote it in the admin (Model versions) or with "
        "POST /api/models/{id}/promote/."
    )


def held_out_report(version_id: int, docs: list[SampleDocument]) -> str:
    """ROUGE of the trained version beside Lead-3 and the zero-label default on documents
    it never saw."""
    from jobs.models import ModelVersion
    from ml.evaluate import evaluate
    from ml.registry import load_system
    from ml.text.baselines import Lead
    from ml.text.data import Example
    from ml.text.zero_label import ZeroLabel

    version = ModelVersion.objects.get(pk=version_id)
    examples = [Example(id=d.id, text=d.text, reference=d.reference_summary) for d in docs]
    lines = [
        f"Held-out check: {len(docs)} documents neither trained nor validated on "
        f"({', '.join(d.id for d in docs)}):"
    ]
    systems = (
        (version.label, load_system(version.checkpoint_dir)),
        ("Lead-3", Lead()),
        ("zero-label default", ZeroLabel()),
    )
    for name, system in systems:
        scores = evaluate(system, examples)
        lines.append(rouge_line(name, scores.rouge1, scores.rouge2, scores.rougeLsum))
    lines.append("  (two short documents: a smoke test of the loop, not a measure of quality)")
    return "\n".join(lines)


def train_and_summarize(
    client: ApiClient, docs: list[SampleDocument], out: TextIO, timeout: float = 1200.0
) -> bool:
    """Train a small BertSumExt through the API unless one is active, say what the gate
    decided and how it does on held-out documents, then summarize with what serves."""
    version = active_version(client)
    if version is None:
        parts = corpus_parts(docs)
        counts = ", ".join(f"{len(v)} {k}" for k, v in parts.items())
        out.write(
            f"\nTraining a small BertSumExt on the sample corpus ({counts}; "
            "a few minutes on CPU) ...\n"
        )
        from django.conf import settings

        out.write(too_small_text(len(parts["validation"]), settings.PROMOTION_MIN_DOCUMENTS))
        client.request("POST", "/api/documents/batch/", training_body(docs), "application/x-ndjson")
        body = json.dumps({"kind": "bertsumext", "params": DEMO_TRAINING_PARAMS}).encode()
        run = client.request("POST", "/api/training-runs/", body, "application/json")
        out.write(f"  run {run['id']} queued; TensorBoard: {run['tensorboard_url']}\n")
        run = wait_for_run(client, run["id"], out, timeout)
        out.write(format_run(run) + "\n")
        if run["status"] != "succeeded":
            return False
        trained = run_version(client, run["id"])
        out.write(promotion_text(trained) + "\n")
        if trained is not None:
            out.write(held_out_report(trained["id"], parts["held out"]) + "\n\n")
        version = active_version(client)
    else:
        out.write(f"\nAn active BertSumExt version exists ({version['label']}); not retraining.\n")
    return summarize_again(client, docs, out) if version is not None else True


def summarize_again(client: ApiClient, docs: list[SampleDocument], out: TextIO) -> bool:
    """The corpus summarized by the serving model, each document marked by its part."""
    part_of = {d.id: part for part, members in corpus_parts(docs).items() for d in members}
    created = client.submit_batch(docs)
    ids = [d["summary"]["id"] for d in created]
    titles = {d["summary"]["id"]: d["title"] for d in created}
    results = wait_for_summaries(client.summary, ids, timeout=300)
    out.write("Summaries by the serving model (its own training documents say little):\n\n")
    for sid in ids:
        title = f"{titles[sid]} [{part_of.get(titles[sid], 'not in the run')}]"
        out.write(format_summary(title, results[sid]) + "\n\n")
    return all(r.get("status") == "succeeded" for r in results.values())


def ending_text(client: ApiClient) -> str:
    """The demo's last lines: where everything is, the login, what to try next."""
    from django.conf import settings

    base = client.base_url
    who = client.credentials
    stored = Path(settings.VAR_DIR) / "demo-credentials.json"
    where = (
        f"password in {stored} (also: {who.password})"
        if who is not None and stored.exists()
        else "password from DJANGO_SUPERUSER_PASSWORD"
    )
    return "\n".join(
        [
            "",
            "The demo is done; the stack keeps serving:",
            f"  admin (staff)  {base}/admin/   username {who.username if who else '?'}, {where}",
            f"  review queue   {base}/admin/jobs/sentenceerror/ (Review by keyboard)",
            f"  API docs       {base}/api/docs/     health {base}/healthz",
            f"  TensorBoard    {base}/admin/jobs/trainingrun/tensorboard/",
            "Try next: the README's curl examples (BASE=" + base + "), summarize a file with",
            "  `.venv/bin/python manage.py summarize FILE`, or review the run's misclassified",
            "  sentences and launch a retraining from the admin.",
            "Serving. Press Ctrl-C to stop.",
        ]
    )
