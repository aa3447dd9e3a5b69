"""Forms of the stores' and POS admin: the business hours' week grid and the CSV upload."""

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pos import imports
from pos.widgets import DAY_LABELS, BusinessHoursWidget, grid_problems, hours_from_grid


class BusinessHoursField(forms.Field):
    """A store's business hours, edited as a week grid, cleaned to Mercado Pago's format."""

    widget = BusinessHoursWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Business hours"))
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "Up to two opening ranges a day. A day without hours, or ticked Closed, is closed."
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value) -> dict:
        if not value:
            return {}
        problems = grid_problems(value)
        if problems:
            days = ", ".join(str(DAY_LABELS[day]) for day in problems)
            raise ValidationError(
                _("Check the hours of %(days)s: each day says what is wrong."),
                code="invalid_hours",
                params={"days": days},
            )
        return hours_from_grid(value)

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


class ImportForm(forms.Form):
    """The upload of a CSV of stores and POS (``pos.imports``)."""

    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            'UTF-8, with commas or semicolons, at most %(limit)s: in Excel, save it as "CSV UTF-8".'
        ) % {"limit": filesizeformat(imports.MAX_FILE_BYTES)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_FILE_BYTES:
            raise ValidationError(
                _("The file is %(size)s; the most is %(limit)s. Split it into smaller files."),
                code="too_big",
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(imports.MAX_FILE_BYTES),
                },
            )
        text = imports.decode(upload.read())
        imports.read_csv(text)
        self.cleaned_data["text"] = text
        return upload
