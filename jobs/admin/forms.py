"""Forms of the staff dashboard."""

from __future__ import annotations

import json
import typing
from typing import Any

from django import forms

from ml.registry import DEFAULT_KIND, train_config_class
from ml.settings import setting_fields

from ..models import Split, TrainableKind

SPLITS = [(value, label) for value, label in Split.choices if value]

# The main train settings, offered as fields; anything else goes in "More settings
# (JSON)". Each field's type, lower bound and help come from the ml config that
# declares the setting (every kind has these); an empty field keeps the recipe.
MAIN_PARAMS = (
    "max_steps",
    "epochs",
    "batch_size",
    "lr",
    "warmup_steps",
    "eval_every",
    "max_minutes",
)
LABELS = {"lr": "Learning rate", "eval_every": "Validate every"}


def setting_form_fields(names: tuple[str, ...]) -> dict[str, forms.Field]:
    """Optional form fields for these train settings, as the ml config declares them."""
    by_name = {f.name: (f, hint) for f, hint in setting_fields(train_config_class(DEFAULT_KIND))}
    form_fields: dict[str, forms.Field] = {}
    for name in names:
        field, hint = by_name[name]
        number = float if float in (hint, *typing.get_args(hint)) else int
        field_class = forms.FloatField if number is float else forms.IntegerField
        form_fields[name] = field_class(
            required=False,
            min_value=field.metadata.get("minimum"),
            label=LABELS.get(name),
            help_text=field.metadata["help"][:1].upper() + field.metadata["help"][1:] + ".",
        )
    return form_fields


class LaunchRetrainingForm(forms.Form):
    kind = forms.ChoiceField(choices=TrainableKind.choices, initial=TrainableKind.BERTSUMEXT)
    train_split = forms.ChoiceField(choices=SPLITS, initial=Split.TRAIN)
    val_split = forms.ChoiceField(choices=SPLITS, initial=Split.VALIDATION)
    encoder = forms.CharField(
        required=False,
        help_text="Hugging Face name or local directory; empty: the default (all-MiniLM-L6-v2).",
    )
    from_active = forms.BooleanField(
        required=False,
        label="Fine-tune the active version",
        help_text="Start from the active version's weights instead of the base encoder.",
    )
    extra = forms.CharField(
        required=False,
        label="More settings (JSON)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"}),
        help_text='Other settings of the kind\'s train config, e.g. {"grad_accum": 2, '
        '"model": {"max_pos": 512}}. The fields above win over the same keys here.',
    )

    def __init__(self, *args: Any, defaults: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        extra = self.fields.pop("extra")
        self.fields.update(setting_form_fields(MAIN_PARAMS))
        self.fields["extra"] = extra
        # Show what an empty field means: the deployment's default for that setting.
        for name, value in (defaults or {}).items():
            if name in self.fields and value is not None:
                self.fields[name].widget.attrs["placeholder"] = f"default: {value}"
        model = (defaults or {}).get("model") or {}
        if model.get("encoder"):
            self.fields["encoder"].widget.attrs["placeholder"] = f"default: {model['encoder']}"

    def clean_extra(self) -> dict[str, Any]:
        raw = self.cleaned_data["extra"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('must be a JSON object, e.g. {"grad_accum": 2}')
        return value

    def params(self) -> dict[str, Any]:
        """The run's params: the JSON settings with the filled-in fields on top."""
        data = self.cleaned_data
        params = dict(data["extra"])
        for name in MAIN_PARAMS:
            if data.get(name) is not None:
                params[name] = data[name]
        if data.get("encoder"):
            model = dict(params.get("model") or {})
            model["encoder"] = data["encoder"].strip()
            params["model"] = model
        return params

    @classmethod
    def initial_from_run(cls, run) -> dict[str, Any]:
        """Prefill from an earlier run ("launch retraining like this one")."""
        params = dict(run.params or {})
        initial: dict[str, Any] = {
            "kind": run.kind,
            "train_split": run.train_split,
            "val_split": run.val_split,
        }
        for name in MAIN_PARAMS:
            if name in params:
                initial[name] = params.pop(name)
        model = params.get("model")
        if isinstance(model, dict) and "encoder" in model:
            model = dict(model)
            initial["encoder"] = model.pop("encoder")
            if model:
                params["model"] = model
            else:
                params.pop("model")
        params.pop("init_from", None)
        if params:
            initial["extra"] = json.dumps(params, indent=1)
        return initial


class ConfirmForm(forms.Form):
    """An empty POST form: the confirmation step of promote and roll back."""

    confirm = forms.BooleanField(required=True, initial=True, widget=forms.HiddenInput)


class TagsField(forms.CharField):
    """Comma-separated tags in the form, a list in the model."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [t.strip() for t in text.split(",") if t.strip()]


class DescribeForm(forms.Form):
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = TagsField(required=False, help_text="Comma-separated, e.g. cnn, frozen-encoder.")
