"""Forms of the control page and of its JSON twin: fault settings and the webhook URL."""

import re
from http import HTTPStatus

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from sandbox.models import Application, FaultSettings


class StatusListField(forms.Field):
    """HTTP error statuses, from a JSON list or a comma-separated string."""

    def to_python(self, value) -> list[int]:
        if value in self.empty_values:
            return []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValidationError("Give a list of HTTP statuses, such as 500, 502, 503, 429.")
        try:
            statuses = [HTTPStatus(int(str(item).strip())) for item in items if str(item).strip()]
        except ValueError as error:
            raise ValidationError("Give HTTP statuses, such as 500, 502, 503, 429.") from error
        if any(status < 400 for status in statuses):
            raise ValidationError("Only error statuses (400 to 599) can be injected.")
        return [int(status) for status in statuses]

    def prepare_value(self, value) -> str:
        return ", ".join(str(status) for status in value) if isinstance(value, list) else value


class FaultSettingsForm(forms.ModelForm):
    error_statuses = StatusListField(required=False)

    class Meta:
        model = FaultSettings
        fields = [
            "seed",
            "path_regex",
            "error_rate",
            "error_statuses",
            "retry_after_seconds",
            "latency_ms",
            "timeout_rate",
            "timeout_seconds",
            "webhook_drop_rate",
            "webhook_duplicate_rate",
            "webhook_delay_rate",
            "webhook_delay_seconds",
            "webhook_reorder_rate",
            "refund_outcome",
            "refund_delay_seconds",
        ]

    def clean_path_regex(self) -> str:
        pattern = self.cleaned_data["path_regex"]
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValidationError(f"Not a regular expression: {error}.") from error
        return pattern

    @classmethod
    def replacing(cls, data: dict) -> "FaultSettingsForm":
        """A form that replaces the settings: what ``data`` leaves out takes its default value.

        Saving it starts the draw counters from zero again.
        """
        defaults = model_to_dict(FaultSettings(), fields=cls.Meta.fields)
        return cls({**defaults, **data}, instance=FaultSettings(pk=FaultSettings.current().pk))


class WebhookURLForm(forms.ModelForm):
    webhook_url = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Application
        fields = ["webhook_url"]
