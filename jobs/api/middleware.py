"""JSON errors for /api/ where Django, not DRF, answers: a body over MAX_UPLOAD_BYTES
(refused from its Content-Length before anything reads it), RequestDataTooBig raised
outside DRF, unknown URLs (Django's 404 page, also with DEBUG on) and unhandled errors."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response

from .errors import error_response, report_unhandled, too_large_response, unavailable_response

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
        if response.status_code < 400 or content_type.startswith("application/json"):
            return response
        if isinstance(response, Response) and content_type.startswith("text/html"):
            return response  # the browsable API shows DRF's error (already the shape) as HTML
        return self._as_json(request, response)

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return too_large_response()
        unavailable = unavailable_response(request, exception)
        if unavailable is not None:
            return unavailable
        report_unhandled(request)
        return error_response(500, "internal server error; the error was logged")

    @staticmethod
    def _as_json(request, response):
        code = response.status_code
        data = getattr(response, "data", None)  # a DRF error rendered another way (OpenAPI)
        if isinstance(data, dict) and isinstance(data.get("detail"), str):
            shaped = error_response(code, data["detail"], data.get("errors"))
        elif code == 404:
            shaped = error_response(code, f"no API endpoint or object at {request.path}")
        else:
            phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
            shaped = error_response(code, phrase.lower())
        for header in ("Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                shaped[header] = response[header]
        return shaped
