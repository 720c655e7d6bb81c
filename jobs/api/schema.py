"""The error responses of every operation, added to the generated OpenAPI schema by a
drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS), so no view can forget one."""

from __future__ import annotations

from typing import Any

from django.conf import settings

ERROR_COMPONENT = {
    "type": "object",
    "description": "The one error shape of every 4xx/5xx answer of the API.",
    "properties": {
        "detail": {"type": "string", "minLength": 1, "description": "What is wrong."},
        "errors": {
            "type": "object",
            "additionalProperties": {},
            "description": "Messages by field name or batch item index (nested for "
            "items); {} when no specific field is to blame.",
        },
    },
    "required": ["detail", "errors"],
}

_DESCRIPTIONS = {
    400: "Bad input: detail says what is wrong, errors names the fields (or batch items).",
    401: "No token, or an invalid one.",
    403: "Authenticated, but not staff.",
    404: "No such object (or not yours).",
    409: "The object's state does not allow it.",
    413: "The body is larger than MAX_UPLOAD_BYTES.",
    415: "Unsupported Content-Type.",
    429: "Too many requests (THROTTLE_RATES); Retry-After says in how many seconds to retry.",
}
TOKEN_PATH = "/api/auth/token/"
STAFF_PREFIXES = ("/api/training-runs/", "/api/models/", "/api/health/")
THROTTLED = ("/api/documents/", "/api/documents/batch/", "/api/documents/{id}/summarize/")


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    if path == TOKEN_PATH:
        return [400, 413, 415, 429]
    codes = [401]
    if path.startswith(STAFF_PREFIXES):
        codes.append(403)
    if "{" in path or method == "get":
        codes.append(404)  # also an invalid ?page= of a list
    if method == "post":
        codes += [400, 413, 415]
    if method == "post" and path in THROTTLED:
        codes.append(429)
    if path.endswith("/cancel/"):
        codes.append(409)
    return codes


def _response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return response


UPLOAD_ENCODING = {
    "file": {
        "contentType": "text/plain, text/markdown, text/html",
        "headers": {
            "Content-Disposition": {
                "schema": {
                    "type": "string",
                    "example": 'form-data; name="file"; filename="notes.txt"',
                }
            }
        },
    }
}


def _describe_bodies(paths: dict[str, Any]) -> None:
    """What the serializers cannot say: a batch has 1..MAX_BATCH_DOCUMENTS items, an
    upload is one .txt/.md/.html file (UTF-8)."""
    batch = paths.get("/api/documents/batch/", {}).get("post", {})
    for content in batch.get("requestBody", {}).get("content", {}).values():
        content["schema"].update(minItems=1, maxItems=settings.MAX_BATCH_DOCUMENTS)
    create = paths.get("/api/documents/", {}).get("post", {})
    multipart = create.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if multipart is not None:
        multipart["encoding"] = UPLOAD_ENCODING


def _no_nul(component: dict[str, Any]) -> None:
    """Strings a client sends may not contain NUL (no database stores it)."""
    for prop in component.get("properties", {}).values():
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            prop.setdefault("pattern", r"^[^\x00]*$")


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in components.items():
        if name.endswith("Request"):  # request bodies refuse unknown fields (StrictSerializer)
            component["additionalProperties"] = False
            _no_nul(component)
    components["Error"] = ERROR_COMPONENT
    _describe_bodies(result.get("paths", {}))
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method, operation):
                responses[str(code)] = _response(code)
    return result
