"""Errors the services raise for bad input; the API and admin show their message."""

from __future__ import annotations


class InvalidInput(ValueError):
    """Bad input from a client or operator; the message says what is wrong."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class BatchInvalid(InvalidInput):
    """Some documents of a batch are invalid; `errors` maps item index to message,
    `fields` item index to the field at fault (when one is)."""

    def __init__(self, errors: dict[int, str], fields: dict[int, str] | None = None):
        first = min(errors)
        super().__init__(
            f"{len(errors)} document(s) invalid; first at item {first}: {errors[first]}"
        )
        self.errors = errors
        self.fields = fields or {}


class NotAllowed(InvalidInput):
    """The caller may not do this (e.g. a non-staff client adding training data): the
    API answers 403, nothing is stored."""
