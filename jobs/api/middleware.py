"""JSON errors for /api/ where Django, not DRF, answers: a body over MAX_UPLOAD_BYTES
(refused from its Content-Length before anything reads it), RequestDataTooBig raised
outside DRF, unknown URLs (Django's 404 page, also with DEBUG on) and unhandled errors."""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from .errors import error_response, too_large_response

logger = logging.getLogger(__name__)
API_PREFIX = "/api/"


def declared_length(meta) -> int | None:
    """The request's Content-Length, or None when absent or not a number."""
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        length = declared_length(request.META)
        if length is None:
            return error_response(400, "the Content-Length header is not a number")
        if length > settings.MAX_UPLOAD_BYTES:
            return too_large_response(length)
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            return self._as_json(request, response)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return too_large_response()
        logger.exception("unhandled error on %s", request.path, exc_info=exception)
        return error_response(500, "internal server error; the error was logged")

    @staticmethod
    def _as_json(request, response):
        code = response.status_code
        if code == 404:
            detail = f"no API endpoint or object at {request.path}"
        else:
            phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
            detail = f"{phrase.lower()}"
        shaped = error_response(code, detail)
        if response.has_header("Retry-After"):
            shaped["Retry-After"] = response["Retry-After"]
        return shaped
