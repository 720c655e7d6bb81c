"""TensorBoard behind the admin: a streaming reverse proxy for logged-in staff.

TensorBoard has no authentication, so it listens only on an internal address
(TENSORBOARD_INTERNAL_URL, e.g. http://tensorboard:6006 in docker compose or
http://127.0.0.1:6006 for `make up`) and staff reach it through this view,
which the admin wraps in its staff login. The prefix is stripped, so
TensorBoard runs without --path_prefix (its pages use relative URLs).

Never forwarded to TensorBoard: the Django session cookie, the CSRF cookie or
any other credential. TensorBoard's POST endpoints are read-only queries
(time series), so the view is CSRF-exempt; it still needs a staff session.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

logger = logging.getLogger(__name__)

# Request headers passed on to TensorBoard; everything else stays here.
FORWARD_REQUEST = ("accept", "accept-encoding", "accept-language", "content-type")
# Response headers never passed back (hop-by-hop, or set by Django itself).
DROP_RESPONSE = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "set-cookie",
        "server",
        "date",
    }
)
CHUNK = 64 * 1024


def upstream_url() -> str:
    """Where TensorBoard listens (never shown to browsers)."""
    return settings.TENSORBOARD_INTERNAL_URL


def proxy(request: HttpRequest, path: str = "") -> HttpResponse:
    return forward(request, upstream_url(), path, name="TensorBoard")


def forward(
    request: HttpRequest,
    upstream: str,
    path: str,
    *,
    name: str,
    methods: tuple[str, ...] = ("GET", "HEAD", "POST"),
    prefixed: bool = False,
) -> HttpResponse:
    """Stream `request` to `upstream` + `path` and the answer back, credentials kept here.

    prefixed: the upstream serves under this proxy's own URL prefix (Flower's
    --url_prefix), so the request keeps its full path and redirects are not rewritten.
    """
    if request.method not in methods:
        return HttpResponse(status=405, headers={"Allow": ", ".join(methods)})
    if ".." in path.split("/"):
        return HttpResponse(f"no such {name} page\n", status=404, content_type="text/plain")
    base = urlsplit(upstream)
    if base.scheme not in ("http", "https") or not base.hostname:
        return _unavailable(name, f"its internal URL is not an http(s) URL: {upstream!r}")
    target = request.path if prefixed else base.path.rstrip("/") + "/" + path
    target = quote(target, safe="/:@!$&'()*+,;=-._~")
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    headers = {h: request.headers[h] for h in FORWARD_REQUEST if h in request.headers}
    body = request.body if request.method == "POST" else None
    connection_class = (
        http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(base.hostname, base.port, timeout=60)
    try:
        conn.request(request.method, target, body=body, headers=headers)
        upstream_response = conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        logger.warning("%s at %s did not answer: %s", name, upstream, exc)
        return _unavailable(name, f"{name} did not answer ({type(exc).__name__}: {exc}).")
    prefix = "" if prefixed else request.path[: len(request.path) - len(path)]
    return _relay(request, conn, upstream_response, prefix)


def _relay(request: HttpRequest, conn: Any, upstream: Any, prefix: str) -> HttpResponse:
    """The upstream's answer as a (streaming) Django response."""

    def stream() -> Iterator[bytes]:
        try:
            while chunk := upstream.read(CHUNK):
                yield chunk
        finally:
            conn.close()

    if request.method == "HEAD":
        conn.close()
        response: HttpResponse | StreamingHttpResponse = HttpResponse(status=upstream.status)
    else:
        response = StreamingHttpResponse(stream(), status=upstream.status)
    for header, value in upstream.getheaders():
        lower = header.lower()
        if lower in DROP_RESPONSE:
            continue
        if lower == "location" and value.startswith("/") and prefix:
            # An absolute path on the upstream is relative to this proxy's prefix.
            value = prefix.rstrip("/") + value
        response[header] = value
    # TensorBoard shows the projector (and other plugins) in an iframe of its own pages:
    # same origin only, where the rest of the site says DENY.
    response["X-Frame-Options"] = "SAMEORIGIN"
    # Private data: a shared cache (a CDN, a proxy) must never keep a copy.
    cache = upstream.getheader("Cache-Control") or "no-store"
    response["Cache-Control"] = "private, " + cache.replace("public", "").strip(" ,")
    return response


def _unavailable(name: str, reason: str) -> HttpResponse:
    service = name.lower()
    return HttpResponse(
        f"{name} is not available: {reason}\n"
        f"Start it with `make up` (or the {service} service of docker compose) and check "
        f"{name.upper()}_INTERNAL_URL.\n",
        status=502,
        content_type="text/plain; charset=utf-8",
    )
