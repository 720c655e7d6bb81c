"""python netns_client.py BASE_URL USERNAME PASSWORD N  (run inside the client namespace)

The API client of tests/integration/test_several_hosts.py, standard library only:
waits until BASE_URL/healthz reports two inference workers, takes a token, posts
a batch of N TextRank documents and prints {"summary_ids": [...]} as JSON.
"""

from __future__ import annotations

import json
import random
import sys
import time
import urllib.error
import urllib.request

WORDS = [
    "council",
    "bridge",
    "river",
    "budget",
    "school",
    "market",
    "train",
    "city",
    "park",
    "library",
    "museum",
    "road",
]


def call(url: str, body: object = None, token: str | None = None) -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def document(rng: random.Random, n_sentences: int) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."
        for _ in range(n_sentences)
    )


def main(base: str, username: str, password: str, n: int) -> int:
    deadline = time.monotonic() + 120
    status, body = 0, None
    while time.monotonic() < deadline:
        status, body = call(f"{base}/healthz")
        if isinstance(body, dict) and len(body.get("inference_workers", [])) == 2:
            break
        time.sleep(0.5)
    else:
        print(json.dumps({"error": f"not ready: {status} {body}"}))
        return 1
    status, body = call(f"{base}/api/auth/token/", {"username": username, "password": password})
    assert status == 200, (status, body)
    token = body["token"]
    rng = random.Random(14)
    batch = [{"text": document(rng, 1200), "model": "textrank"} for _ in range(n)]
    status, body = call(f"{base}/api/documents/batch/", batch, token)
    assert status == 201, (status, body)
    print(json.dumps({"summary_ids": [d["summary"]["id"] for d in body]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
