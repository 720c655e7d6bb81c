"""The HTTP side of docker/smoke.sh, standard library only (runs on the host).

    python3 docker/smoke_client.py token USER PASSWORD          -> prints the API token
    python3 docker/smoke_client.py submit N                      -> prints N summary ids
    python3 docker/smoke_client.py wait TIMEOUT_S ID [ID ...]    -> exit 0 when all succeeded
    python3 docker/smoke_client.py keep-submitting SECONDS FILE  -> one document every
        0.5 s; the ids of those answered 201 go to FILE, every other answer is counted
    python3 docker/smoke_client.py recheck FILE                  -> exit 0 when every
        summary `wait` recorded in FILE still reads as it did (finished once)

SMOKE_URL (http://127.0.0.1:8180) is compose's published web port; SMOKE_TOKEN
authenticates the API calls; SMOKE_RECORD, when set, is the file where `wait` appends
each summary it saw finish (id, status, finished_at, attempts, a hash of its text).
Every request carries Host: localhost and X-Forwarded-Proto: https, standing in for
the TLS proxy that production settings expect (docs/deploy.md, "TLS and the reverse proxy").
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

TERMINAL = {"succeeded", "failed", "cancelled"}
SENTENCES = [
    "The city council approved a new plan for the harbour district on Tuesday evening.",
    "Officials said the project would add three thousand homes over the next decade.",
    "Residents at the meeting asked how the new roads would cope with more traffic.",
    "The mayor promised that a tram line would open before the first homes were finished.",
    "Critics argued that the budget left too little money for schools and clinics.",
    "A local business group welcomed the plan and said it would bring new jobs.",
    "The council will publish the detailed designs for public comment next spring.",
    "Construction on the first phase is expected to begin in the autumn of next year.",
]


def _request(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    url = os.environ.get("SMOKE_URL", "http://127.0.0.1:8180") + path
    headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    if token := os.environ.get("SMOKE_TOKEN"):
        headers["Authorization"] = f"Token {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _expect(status: int, payload: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise SystemExit(f"{what}: HTTP {status} (wanted {wanted}): {payload}")
    return payload


def token(username: str, password: str) -> None:
    credentials = {"username": username, "password": password}
    status, body = _request("POST", "/api/auth/token/", credentials)
    print(_expect(status, body, 200, "token")["token"])


def _document(i: int | str) -> dict[str, str]:
    # A distinct first sentence per document, so each is its own document.
    return {"title": f"smoke {i}", "text": " ".join([f"Report {i} was filed today.", *SENTENCES])}


def submit(count: int) -> None:
    docs = [_document(i) for i in range(count)]
    if count == 1:
        status, body = _request("POST", "/api/documents/", docs[0])
        created = [_expect(status, body, 201, "submit")]
    else:
        status, body = _request("POST", "/api/documents/batch/", docs)
        created = _expect(status, body, 201, "submit batch")
    for doc in created:
        print(doc["summary"]["id"])


def keep_submitting(seconds: float, out: str) -> None:
    """A client that keeps submitting through an outage: what it was told, counted."""
    answers: collections.Counter[str] = collections.Counter()
    accepted = 0
    start = time.monotonic()
    with open(out, "a") as ids:
        while time.monotonic() - start < seconds:
            try:
                status, body = _request("POST", "/api/documents/", _document(f"k{time.time_ns()}"))
            except (urllib.error.URLError, OSError) as exc:
                answers[f"no answer ({type(exc).__name__})"] += 1
            else:
                if status == 201:
                    ids.write(f"{body['summary']['id']}\n")
                    ids.flush()
                    accepted += 1
                else:
                    shape = "JSON" if str(body).lstrip().startswith("{") else "not JSON"
                    answers[f"HTTP {status} ({shape})"] += 1
            time.sleep(0.5)
    others = ", ".join(f"{n} {what}" for what, n in sorted(answers.items())) or "none"
    print(f"kept submitting for {seconds:.0f} s: {accepted} answered 201; others: {others}")


def wait(timeout_s: float, ids: list[str]) -> int:
    """Poll until every summary is terminal; web errors are counted, not fatal."""
    start = time.monotonic()
    pending = set(ids)
    finished: dict[str, tuple[float, dict[str, Any]]] = {}
    web_errors = 0
    while pending and time.monotonic() - start < timeout_s:
        for sid in sorted(pending):
            status, body = _poll(sid)
            if status != 200:
                web_errors += 1
            elif body["status"] in TERMINAL:
                finished[sid] = (time.monotonic() - start, body)
                pending.discard(sid)
        if pending:
            time.sleep(2)
    _report(ids, finished, pending, web_errors, timeout_s)
    if record := os.environ.get("SMOKE_RECORD"):
        with open(record, "a") as out:
            for sid, (_, body) in finished.items():
                out.write(json.dumps({"id": sid, **_fingerprint(body)}) + "\n")
    failed = [b for _, b in finished.values() if b["status"] != "succeeded"]
    return 1 if failed or pending else 0


def _fingerprint(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps([body.get("summary"), body.get("sentences")], sort_keys=True)
    return {
        "status": body["status"],
        "finished_at": body.get("finished_at"),
        "attempts": body.get("attempts"),
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def recheck(record: str) -> int:
    """Each recorded summary still has the status, finish time and text it finished
    with: nothing ran it a second time."""
    with open(record) as lines:
        seen = [json.loads(line) for line in lines]
    changed = []
    for first in seen:
        status, body = _poll(first["id"])
        now = {"id": first["id"], **_fingerprint(body)} if status == 200 else {"http": status}
        if now != first:
            changed.append((first, now))
    attempts = collections.Counter(first["attempts"] for first in seen)
    ids = {first["id"] for first in seen}
    print(
        f"{len(seen)} finished summaries ({len(ids)} distinct) re-read: {len(changed)} changed; "
        f"attempts: {dict(sorted(attempts.items()))}"
    )
    for first, now in changed[:10]:
        print(f"  {first} -> {now}")
    return 1 if changed or len(ids) != len(seen) else 0


def _poll(sid: str) -> tuple[int, Any]:
    try:
        return _request("GET", f"/api/summaries/{sid}/")
    except (urllib.error.URLError, OSError):
        return 0, None  # refused or reset: web is down


def _report(
    ids: list[str],
    finished: dict[str, tuple[float, dict[str, Any]]],
    pending: set[str],
    web_errors: int,
    timeout_s: float,
) -> None:
    times = sorted(t for t, _ in finished.values())
    ok = sum(1 for _, b in finished.values() if b["status"] == "succeeded")
    line = f"{ok}/{len(ids)} succeeded"
    if times:
        line += f"; first after {times[0]:.0f} s, last after {times[-1]:.0f} s"
    line += "; web answered every poll" if not web_errors else f"; {web_errors} failed polls"
    print(line)
    for sid, (_, body) in finished.items():
        if body["status"] != "succeeded":
            print(f"  summary {sid}: {body['status']}: {body.get('error')}")
    if pending:
        print(f"  unfinished after {timeout_s:.0f} s: {sorted(pending)}")
    if len(ids) == 1 and finished:
        body = next(iter(finished.values()))[1]
        print(f"  model {body['model']}: {body['summary']!r}")


def main(argv: list[str]) -> int:
    try:
        if argv[1:2] == ["token"]:
            token(argv[2], argv[3])
        elif argv[1:2] == ["submit"]:
            submit(int(argv[2]))
        elif argv[1:2] == ["wait"]:
            return wait(float(argv[2]), argv[3:])
        elif argv[1:2] == ["keep-submitting"]:
            keep_submitting(float(argv[2]), argv[3])
        elif argv[1:2] == ["recheck"]:
            return recheck(argv[2])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (urllib.error.URLError, OSError) as exc:
        print(f"{argv[1]}: cannot reach the web service: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
