"""The demo's HTTP side: the sample corpus, a tiny REST API client (standard library
only, exactly as an outside client would talk: token, JSON Lines batch upload, polling)
and the printing of a summary."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --- HTTP client ----------------------------------------------------------------


class ApiClient:
    """A tiny client for the Summarizer REST API (urllib, token auth)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None
        self.credentials: Credentials | None = None  # the login, for the demo's last lines

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
        self.credentials = credentials

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
