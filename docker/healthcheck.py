"""Container healthchecks: python docker/healthcheck.py web|worker NAME|tensorboard.

web:         /healthz answers and reports the database and broker ok (a missing
             worker makes /healthz 503 but is the worker's problem, not web's).
worker NAME: the Celery worker NAME@<this host> answers a ping.
tensorboard: TensorBoard's front page answers 200.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.request


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_web() -> bool:
    port = os.environ.get("PORT", "8000")
    # Host must be in ALLOWED_HOSTS; the forwarded-proto header stands in for the
    # TLS proxy so SECURE_SSL_REDIRECT does not answer 301.
    status, body = _get(
        f"http://127.0.0.1:{port}/healthz",
        {"Host": "localhost", "X-Forwarded-Proto": "https"},
    )
    if status not in (200, 503):
        print(f"/healthz answered {status}")
        return False
    report = json.loads(body)
    print(report)
    return report.get("database") == "ok" and report.get("broker") == "ok"


def check_worker(name: str) -> bool:
    from summarizer_project.celery import app

    node = f"{name}@{socket.gethostname()}"
    replies = app.control.ping([node], timeout=5.0) or []
    print(replies)
    return any(node in reply for reply in replies)


def check_tensorboard() -> bool:
    port = os.environ.get("TENSORBOARD_PORT", "6006")
    return _get(f"http://127.0.0.1:{port}/", {})[0] == 200


def _unset_empty_variables() -> None:
    """As docker/entrypoint.sh does for the processes: compose passes an unset
    `X: ${X:-}` as empty, which means the default; the healthcheck is exec'd into the
    container without the entrypoint, and settings read some empty values as errors
    (ABSTRACTIVE_GENERATION='' is not JSON)."""
    for name in [name for name, value in os.environ.items() if value == ""]:
        del os.environ[name]


def main(argv: list[str]) -> int:
    _unset_empty_variables()
    what = argv[1] if len(argv) > 1 else "web"
    try:
        if what == "web":
            ok = check_web()
        elif what == "worker":
            ok = check_worker(argv[2])
        elif what == "tensorboard":
            ok = check_tensorboard()
        else:
            print(f"unknown check {what!r}")
            return 2
    except Exception as exc:
        print(f"{what}: {type(exc).__name__}: {exc}")
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
