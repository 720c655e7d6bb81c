"""One error shape for every 4xx/5xx of the API:

    {"detail": "<one sentence>", "errors": {<field or item index>: [messages] or nested}}

`errors` is always present (`{}` when no field is to blame). The DRF exception handler
below shapes DRF's own errors (validation, parse, auth, 404, 405, 415, 429), the
services' InvalidInput and Django's RequestDataTooBig; jobs.api.middleware shapes
what Django answers outside DRF (unknown /api/ URLs, bodies refused before the view,
unhandled errors).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from jobs.outages import unavailable_service
from jobs.services.errors import BatchInvalid, InvalidInput, NotAllowed

request_logger = logging.getLogger("django.request")


def report_unhandled(request: Any) -> None:
    """Report the exception being handled as Django reports an uncaught one: the
    django.request logger (ADMINS mail, log handlers) and got_request_exception (error
    trackers; the test client re-raises it). Called inside the except block."""
    django_request = getattr(request, "_request", request)  # DRF wraps Django's request
    request_logger.error(
        "Internal Server Error: %s",
        django_request.path,
        exc_info=True,
        extra={"status_code": 500, "request": django_request},
    )
    got_request_exception.send(sender=None, request=django_request)


class ApiError(APIException):
    """A 4xx with a sentence and the fields (or item indexes) it concerns."""

    def __init__(self, detail: str, errors: dict | None = None, status_code: int = 400):
        super().__init__(detail)
        self.status_code = status_code
        self.errors = errors or {}


class BodyTooLarge(ApiError):
    def __init__(self, size: int | None = None):
        limit = settings.MAX_UPLOAD_BYTES
        what = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
        super().__init__(
            f"the request body is {what}; the limit is {limit:,} bytes (MAX_UPLOAD_BYTES)",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


def error_body(detail: str, errors: dict | None = None) -> dict[str, Any]:
    return {"detail": detail or "the request failed", "errors": errors or {}}


def error_response(status_code: int, detail: str, errors: dict | None = None) -> JsonResponse:
    """The error shape as a plain Django response (outside DRF)."""
    return JsonResponse(error_body(detail, errors), status=status_code)


def unavailable_response(request: Any, exc: BaseException) -> JsonResponse | None:
    """503 in the error shape, with Retry-After, when `exc` says the database or the
    broker cannot be reached (an outage, not a bug); None for any other exception."""
    service = unavailable_service(exc)
    if service is None:
        return None
    django_request = getattr(request, "_request", request)
    request_logger.warning(
        "Service Unavailable (%s down): %s: %s", service, django_request.path, exc
    )
    response = error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"the {service} is unavailable; try again shortly",
    )
    response["Retry-After"] = str(settings.OUTAGE_RETRY_AFTER)
    return response


def too_large_response(size: int | None = None) -> JsonResponse:
    exc = BodyTooLarge(size)
    return error_response(exc.status_code, str(exc.detail))


def first_message(value: Any, path: str = "") -> str:
    if isinstance(value, dict):
        for key, inner in value.items():
            name = path if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            return first_message(inner, name)
        return ""
    if isinstance(value, list | tuple):
        return first_message(value[0], path) if value else ""
    text = str(value)
    return f"{path}: {text}" if path and not text.startswith(path.rsplit(".", 1)[-1]) else text


def _field_errors(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _field_errors(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_field_errors(v) for v in value]
    return str(value)


def validation_body(detail: Any) -> dict[str, Any]:
    """A DRF ValidationError's detail (dict, list or str) in the error shape."""
    if isinstance(detail, dict):
        errors = _field_errors({k: v for k, v in detail.items() if k != "non_field_errors"})
        return error_body(first_message(detail), errors)
    return error_body(first_message(detail))


def _service_error(exc: InvalidInput) -> Response:
    if isinstance(exc, BatchInvalid):
        errors: dict[str, Any] = {
            str(i): {exc.fields[i]: [message.removeprefix(f"{exc.fields[i]}: ")]}
            if i in exc.fields
            else [message]
            for i, message in exc.errors.items()
        }
        detail = f"no document was stored: {exc.message}"
        return Response(error_body(detail, errors), status=status.HTTP_400_BAD_REQUEST)
    errors = {exc.field: [exc.message]} if exc.field else {}
    code = status.HTTP_403_FORBIDDEN if isinstance(exc, NotAllowed) else status.HTTP_400_BAD_REQUEST
    return Response(error_body(exc.message, errors), status=code)


def exception_handler(exc, context):
    unavailable = unavailable_response(context.get("request"), exc)
    if unavailable is not None:
        return unavailable
    if isinstance(exc, InvalidInput):
        return _service_error(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. too many form fields or files
        exc = ApiError(str(exc) or "the request was refused as malformed")
    response = drf_exception_handler(exc, context)
    if response is None:
        report_unhandled(context.get("request"))
        return Response(
            error_body("internal server error; the error was logged"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ApiError):
        response.data = error_body(str(exc.detail), exc.errors)
    elif isinstance(exc, ValidationError):
        response.data = validation_body(exc.detail)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(str(detail) or response.status_text)
    return response
