"""The serving benchmarks' view of a stack's database, run under the stack's environment
(``bench.stack.Stack.run_db``): ``python -m bench.serve_db COMMAND [ARGS]``; prints JSON.

- ``token USERNAME``: a user and its API token;
- ``submit USERNAME MODEL FILE``: store each JSON Lines ``{"text": ...}`` of FILE as a
  document with a queued summary through the service (as the batch endpoint does);
- ``wait IDS_FILE TIMEOUT``: wait until those summaries are finished; their status,
  selected sentence indices and when the last one finished (epoch seconds);
- ``count USERNAME``: the user's documents and summaries by status (what was stored).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _setup() -> None:
    import django

    django.setup()


def token(username: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username=username)
    return {"token": Token.objects.get_or_create(user=user)[0].key}


def submit(username: str, model: str, path: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from jobs.services.documents import DocumentInput, submit_documents

    user, _ = get_user_model().objects.get_or_create(username=username)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    items = [DocumentInput(text=json.loads(line)["text"], model=model) for line in lines]
    submissions = submit_documents(user, items)
    return {"ids": [s.summary.pk for s in submissions if s.summary]}


def wait(ids_path: str, timeout: str) -> dict[str, Any]:
    from jobs.models import JobStatus, Summary

    ids = json.loads(Path(ids_path).read_text())
    done = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    deadline = time.monotonic() + float(timeout)
    while Summary.objects.filter(pk__in=ids).exclude(status__in=done).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rows = Summary.objects.filter(pk__in=ids).order_by("pk")
    finished = [r.finished_at.timestamp() for r in rows if r.finished_at]
    return {
        "last_finished": max(finished, default=None),
        "status": {r.pk: r.status for r in rows},
        "selected": {r.pk: [s["index"] for s in r.sentences if s["selected"]] for r in rows},
        "models": sorted({f"{r.model} {r.model_version}" for r in rows}),
        "errors": sorted({r.error for r in rows if r.error}),
    }


def count(username: str) -> dict[str, Any]:
    from django.db.models import Count

    from jobs.models import Document, Summary

    docs = Document.objects.filter(owner__username=username)
    by_status = Summary.objects.filter(document__owner__username=username).values("status")
    return {
        "documents": docs.count(),
        "summaries": {r["status"]: r["n"] for r in by_status.annotate(n=Count("id"))},
        "without_summary": docs.filter(summaries__isnull=True).count(),
    }


COMMANDS = {"token": token, "submit": submit, "wait": wait, "count": count}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(
            f"usage: python -m bench.serve_db {{{','.join(COMMANDS)}}} ARGS (see its docstring)"
        )
    _setup()
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
