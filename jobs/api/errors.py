"""Map service errors to 4xx responses with a message that says what is wrong."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from jobs.services.errors import BatchInvalid, InvalidInput


def exception_handler(exc, context):
    if isinstance(exc, BatchInvalid):
        return Response(
            {"detail": exc.message, "errors": {str(k): v for k, v in exc.errors.items()}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, InvalidInput):
        body: dict[str, Any] = {"detail": exc.message}
        if exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
