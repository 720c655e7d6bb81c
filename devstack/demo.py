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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

SAMPLE_CORPUS = Path(__file__).resolve().parent / "sample_corpus" / "sample.jsonl"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


class DemoError(RuntimeError):
    """The demo could not complete; the message says which step failed and why."""


# --- sample corpus --------------------------------------------------------------


@dataclass(frozen=True)
class SampleDocument:
    id: str
    text: str
    reference_summary: str


def load_corpus(path: Path = SAMPLE_CORPUS) -> list[SampleDocument]:
    """Read the JSON Lines corpus (keys id, text, reference_summary)."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                docs.append(
                    SampleDocument(
                        id=str(record["id"]),
                        text=record["text"],
                        reference_summary=record["reference_summary"],
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DemoError(f"{path}:{lineno}: not a sample document: {exc}") from exc
    return docs


def batch_body(docs: Iterable[SampleDocument]) -> bytes:
    """The JSON Lines body for POST /api/documents/batch/ (the id becomes the title)."""
    lines = (
        json.dumps(
            {"title": d.id, "text": d.text, "reference_summary": d.reference_summary},
            ensure_ascii=False,
        )
        for d in docs
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- demo user ------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


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


# --- HTTP client ----------------------------------------------------------------


class ApiClient:
    """A tiny client for the Summarizer REST API (urllib, token auth)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(
            self.base_url + path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise DemoError(f"{method} {path} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise DemoError(f"{method} {path} failed: {exc}") from exc

    def login(self, credentials: Credentials) -> None:
        body = json.dumps({"username": credentials.username, "password": credentials.password})
        data = self.request("POST", "/api/auth/token/", body.encode(), "application/json")
        self.token = data["token"]

    def submit_batch(self, docs: Iterable[SampleDocument]) -> list[dict[str, Any]]:
        return self.request(
            "POST", "/api/documents/batch/", batch_body(docs), "application/x-ndjson"
        )

    def summary(self, summary_id: int) -> dict[str, Any]:
        return self.request("GET", f"/api/summaries/{summary_id}/")


def wait_for_summaries(
    fetch: Callable[[int], dict[str, Any]],
    summary_ids: list[int],
    timeout: float = 300.0,
    interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, dict[str, Any]]:
    """Poll until every summary is finished; raises DemoError naming the stragglers."""
    deadline = clock() + timeout
    done: dict[int, dict[str, Any]] = {}
    pending = list(summary_ids)
    while True:
        still = []
        for sid in pending:
            data = fetch(sid)
            if data.get("status") in TERMINAL:
                done[sid] = data
            else:
                still.append(sid)
        pending = still
        if not pending:
            return done
        if clock() >= deadline:
            raise DemoError(
                f"{len(pending)} summaries still not finished after {timeout:.0f}s "
                f"(ids {pending}); is the inference worker running? see var/log/"
                "worker-inference.log"
            )
        sleep(interval)


# --- output -----------------------------------------------------------------------


def format_summary(title: str, data: dict[str, Any], reference: str = "") -> str:
    """Human-readable report of one summary: model, notes, selected sentences, reference."""
    model = data.get("model") or "?"
    version = data.get("model_version") or ""
    lines = [f"== {title} (summary {data.get('id')}) ==", f"status: {data.get('status')}"]
    lines.append(f"model: {model}" + (f" ({version})" if version else ""))
    for note in filter(None, (data.get("notes") or "").splitlines()):
        lines.append(f"note: {note}")
    if data.get("status") != "succeeded":
        lines.append(f"error: {data.get('error') or '(none given)'}")
        return "\n".join(lines)
    sentences = data.get("sentences") or []
    selected = [s for s in sentences if s.get("selected")]
    lines.append(f"selected {len(selected)} of {len(sentences)} sentences (document order):")
    for s in selected:
        lines.append(
            f"  [{s['index']:>2}] score {float(s['score']):.3f}  "
            f"chars {s['start']}-{s['end']}  {s['text']}"
        )
    if reference:
        lines.append("reference summary:")
        lines.extend(f"  {line}" for line in reference.splitlines() if line.strip())
    return "\n".join(lines)


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
    for sid, title in titles.items():
        out.write(format_summary(title, results[sid], references.get(title, "")) + "\n\n")
    return all(r.get("status") == "succeeded" for r in results.values())


# --- training a small BertSumExt on the sample corpus -----------------------------------

# A few minutes on two CPU cores with the packaged all-MiniLM-L6-v2 encoder. Far too
# little data for a good model: the point is to show the loop (train, log to
# TensorBoard, validate beside Lead-3/TextRank, promote, serve), not the quality.
DEMO_TRAINING_PARAMS = {
    "max_steps": 24,
    "batch_size": 4,
    "warmup_steps": 4,
    "lr": 1e-4,
    "eval_every": 12,
    "log_every": 2,
    "summary_sentences": 3,
}
VALIDATION_DOCS = 3  # the last documents of the corpus validate, the rest train


def training_body(docs: list[SampleDocument]) -> bytes:
    """JSON Lines: the corpus as labelled training and validation documents."""
    cut = len(docs) - VALIDATION_DOCS
    lines = (
        json.dumps(
            {
                "title": d.id,
                "text": d.text,
                "reference_summary": d.reference_summary,
                "split": "train" if i < cut else "validation",
                "summarize": False,
            },
            ensure_ascii=False,
        )
        for i, d in enumerate(docs)
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def active_version(client: ApiClient, kind: str = "bertsumext") -> dict[str, Any] | None:
    for version in client.request("GET", "/api/models/")["results"]:
        if version["kind"] == kind and version["is_active"]:
            return version
    return None


def wait_for_run(
    client: ApiClient,
    run_id: int,
    out: TextIO,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll a training run, printing progress, until it finishes."""
    deadline = clock() + timeout
    last = None
    while True:
        run = client.request("GET", f"/api/training-runs/{run_id}/")
        shown = (run["status"], run["progress_step"])
        if shown != last:
            loss = f"  loss {run['last_loss']:.3f}" if run.get("last_loss") is not None else ""
            out.write(
                f"  run {run_id}: {run['status']}  step {run['progress_step']}/"
                f"{run['progress_total'] or '?'}{loss}\n"
            )
            out.flush()
            last = shown
        if run["status"] in TERMINAL:
            return run
        if clock() >= deadline:
            raise DemoError(
                f"training run {run_id} not finished after {timeout:.0f}s; "
                "see var/log/worker-training.log"
            )
        sleep(2.0)


def format_run(run: dict[str, Any]) -> str:
    m = run.get("metrics") or {}
    lines = [f"Training run {run['id']}: {run['status']} on {run.get('device') or '?'}"]
    if run["status"] != "succeeded":
        lines.append(f"  error: {run.get('error') or '(none given)'}")
        return "\n".join(lines)
    for name, prefix in (("BertSumExt", "val_"), ("Lead-3", "lead3_"), ("TextRank", "textrank_")):
        if f"{prefix}rouge1" in m:
            lines.append(
                f"  {name:<10} validation ROUGE-1/2/Lsum "
                f"{m[f'{prefix}rouge1']:.2f} / {m[f'{prefix}rouge2']:.2f} / "
                f"{m[f'{prefix}rougeLsum']:.2f}"
            )
    lines.append(f"  TensorBoard: {run['tensorboard_url']}")
    return "\n".join(lines)


def train_and_summarize(
    client: ApiClient, docs: list[SampleDocument], out: TextIO, timeout: float = 1200.0
) -> bool:
    """Train a small BertSumExt through the API unless one is active, then summarize with it."""
    version = active_version(client)
    if version is None:
        out.write(
            f"\nTraining a small BertSumExt on the sample corpus ({len(docs) - VALIDATION_DOCS} "
            f"training, {VALIDATION_DOCS} validation documents; a few minutes on CPU) ...\n"
        )
        client.request("POST", "/api/documents/batch/", training_body(docs), "application/x-ndjson")
        body = json.dumps({"kind": "bertsumext", "params": DEMO_TRAINING_PARAMS}).encode()
        run = client.request("POST", "/api/training-runs/", body, "application/json")
        out.write(f"  run {run['id']} queued; TensorBoard: {run['tensorboard_url']}\n")
        run = wait_for_run(client, run["id"], out, timeout)
        out.write(format_run(run) + "\n")
        if run["status"] != "succeeded":
            return False
        version = active_version(client)
        if version is None:
            out.write("The new version was not promoted; see its gate note in the admin.\n")
            return False
        out.write(f"Promoted {version['label']}: {version['gate_note']}\n\n")
    else:
        out.write(f"\nAn active BertSumExt version exists ({version['label']}); not retraining.\n")
    created = client.submit_batch(docs)
    ids = [d["summary"]["id"] for d in created]
    titles = {d["summary"]["id"]: d["title"] for d in created}
    results = wait_for_summaries(client.summary, ids, timeout=300)
    out.write("Summaries by the trained model:\n\n")
    for sid in ids:
        out.write(format_summary(titles[sid], results[sid]) + "\n\n")
    return all(r.get("status") == "succeeded" for r in results.values())
