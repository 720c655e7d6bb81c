"""Strict request fields: JSON types are not coerced (0 is not a string, "3" is not an
integer, 1 is not a boolean) and unknown fields are refused by name. And output
serializers whose fields are built once per class."""

from __future__ import annotations

import copy

from rest_framework import serializers


class FieldsOncePerClass:
    """A ModelSerializer whose fields do not depend on its instance or context: the
    model introspection behind ``get_fields`` runs once per class, not once per
    serializer (it was ~15 % of a submission's CPU under load, issue #16); each
    serializer still gets its own copies, as DRF's declared fields do."""

    def get_fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_fields_once")  # this class's own, not a parent's
        if fields is None:
            fields = super().get_fields()  # type: ignore[misc]
            cls._fields_once = fields  # type: ignore[attr-defined]
        return copy.deepcopy(fields)


def safe_name(name: object) -> str:
    """A client-sent name fit to echo in an error (no NUL, no lone surrogate)."""
    text = str(name)[:100].encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=safe_name(data))
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class FormBooleanField(serializers.BooleanField):
    """A form value: "true" or "false" only."""

    default_error_messages = {"invalid": 'Must be "true" or "false".'}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.strip().lower() in ("true", "false"):
            return data.strip().lower() == "true"
        self.fail("invalid")


class FormIntegerField(serializers.IntegerField):
    """A form value: decimal digits only ("3", not "3.0" or "+3")."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or str(data).isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses a body that is not an object, and fields it does not declare."""

    def to_internal_value(self, data):
        if not hasattr(data, "keys"):
            raise serializers.ValidationError(
                {"non_field_errors": ["send one JSON object (got a JSON array or value)"]}
            )
        unknown = sorted(set(data.keys()) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {safe_name(name): ["unknown field"] for name in unknown}
            )
        return super().to_internal_value(data)


class ShapeOnly:
    """A request field that checks the JSON type only. Its rules (not blank,
    ``max_length``, ``min_value``/``max_value``, its validators' pattern) are declared
    for the OpenAPI schema, which shows them, but not checked here: the services check
    each rule once (jobs.services.validation), so a JSON document, a batch item, an
    upload and ``manage.py summarize`` are refused alike, with the same message."""

    def run_validators(self, value):
        return None


class ShapeCharField(ShapeOnly, StrictCharField):
    def run_validation(self, data=serializers.empty):
        # CharField's own blank check skipped: "" (or "   ") goes on to the service.
        return serializers.Field.run_validation(self, data)


class ShapeChoiceField(StrictChoiceField):
    """A string; whether it is one of the choices (which the schema lists) is the
    service's rule."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=safe_name(data))
        return data


class ShapeIntegerField(ShapeOnly, StrictIntegerField):
    pass


class ShapeFormIntegerField(ShapeOnly, FormIntegerField):
    pass
