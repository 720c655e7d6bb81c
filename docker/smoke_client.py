"""The HTTP side of docker/smoke.sh, standard library only (runs on the host).

    python3 docker/smoke_client.py token USER PASSWORD          -> prints the API token
    python3 docker/smoke_client.py submit N                      -> prints N summary ids
    python3 docker/smoke_client.py wait TIMEOUT_S ID [ID ...]    -> exit 0 when all succeeded

SMOKE_URL (http://127.0.0.1:8180) is compose's published web port; SMOKE_TOKEN
authenticates submit and wait. Every request carries Host: localhost and
X-Forwarded-Proto: https, standing in for the TLS proxy that production
settings expect (docs/deploy.md, "TLS and the reverse proxy").
"""

from __future__ import annotations

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


def submit(count: int) -> None:
    # A distinct first sentence per document, so each is its own document.
    docs = [
        {"title": f"smoke {i}", "text": " ".join([f"Report {i} was filed today.", *SENTENCES])}
        for i in range(count)
    ]
    if count == 1:
        status, body = _request("POST", "/api/documents/", docs[0])
        created = [_expect(status, body, 201, "submit")]
    else:
        status, body = _request("POST", "/api/documents/batch/", docs)
        created = _expect(status, body, 201, "submit batch")
    for doc in created:
        print(doc["summary"]["id"])


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
    failed = [b for _, b in finished.values() if b["status"] != "succeeded"]
    return 1 if failed or pending else 0


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
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (urllib.error.URLError, OSError) as exc:
        print(f"{argv[1]}: cannot reach the web service: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
