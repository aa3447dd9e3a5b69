"""Strict input for the partner API: what a request sends that no operation takes is refused
(400 ``validation_error``, the field named), never ignored.

- Bodies: ``RefuseUnknownFields`` (a serializer mixin) refuses a field the serializer does not
  take, read-only ones included, at any depth (``items.0.foo``), code ``unknown_field``; actions
  that take no body refuse any field with ``NoBody``.
- Instants: ``AwareDateTimeField`` (bodies) and ``AwareIsoDateTimeFilter`` (filters) refuse a
  date and time without its UTC offset, code ``naive_datetime``: it would be read in the server's
  time zone.
- Lists: ``StrictFilterBackend`` refuses a query parameter the list does not take (its filters,
  ``cursor``, ``limit`` and ``format``), code ``unknown_field``, and one given twice, code
  ``repeated``; ``StrictCursorPagination`` refuses a ``limit`` that is not a whole number from 1
  to its maximum.
"""

from collections.abc import Iterable, Mapping

from django import forms
from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.settings import api_settings

UNKNOWN_FIELD = "unknown_field"
REPEATED = "repeated"
NAIVE_DATETIME = "naive_datetime"
NAIVE_DATETIME_MESSAGE = (
    "Give the UTC offset of this date and time: 2026-12-01T10:00:00-03:00 or 2026-12-01T13:00:00Z."
)


class RefuseUnknownFields:
    """Serializer mixin (put it first): a body field this serializer does not take, or a
    read-only one, is an error on that field, code ``unknown_field``, reported with the other
    errors of the body. Nested serializers that use it refuse theirs under their path."""

    def to_internal_value(self, data: object) -> object:
        refused = _unknown_fields(self.fields, data)
        try:
            value = super().to_internal_value(data)
        except ValidationError as error:
            if refused and isinstance(error.detail, Mapping):
                raise ValidationError({**error.detail, **refused}) from error
            raise
        if refused:
            raise ValidationError(refused)
        return value


class NoBody(RefuseUnknownFields, serializers.Serializer):
    """The body of an action that takes none: empty, or an object without fields."""

    @classmethod
    def check(cls, request: Request) -> None:
        """Raise a ``ValidationError`` naming each field of ``request``'s body."""
        cls(data=request.data).is_valid(raise_exception=True)


def _unknown_fields(fields: Mapping[str, serializers.Field], data: object) -> dict:
    if not isinstance(data, Mapping):
        return {}  # the serializer refuses it as a whole
    refused = {}
    for name in data:
        field = fields.get(name)
        if field is None:
            message = "Unknown field: this operation does not take it."
        elif field.read_only:
            message = "This field is read-only: leave it out."
        else:
            continue
        refused[name] = [ErrorDetail(message, code=UNKNOWN_FIELD)]
    return refused


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its UTC offset; without one it is refused, code
    ``naive_datetime``."""

    default_error_messages = {NAIVE_DATETIME: NAIVE_DATETIME_MESSAGE}

    def to_internal_value(self, value: object) -> object:
        if isinstance(value, str) and _is_naive(value):
            self.fail(NAIVE_DATETIME)
        return super().to_internal_value(value)


def _is_naive(value: str) -> bool:
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return False  # not a valid date and time: the field says so
    return parsed is not None and parsed.tzinfo is None


class AwareIsoDateTimeFormField(filter_fields.IsoDateTimeField):
    default_error_messages = {NAIVE_DATETIME: NAIVE_DATETIME_MESSAGE}

    def to_python(self, value: object):
        if isinstance(value, str) and _is_naive(value):
            raise forms.ValidationError(self.error_messages[NAIVE_DATETIME], code=NAIVE_DATETIME)
        return super().to_python(value)


class AwareIsoDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date and time filter that refuses one without its UTC offset."""

    field_class = AwareIsoDateTimeFormField


def period_filters(
    field_name: str, label: str
) -> tuple[AwareIsoDateTimeFilter, AwareIsoDateTimeFilter]:
    """The ``<x>_after`` (included) and ``<x>_before`` filters of the instant ``field_name``;
    ``label`` starts their help (``Created``)."""
    help_text = "{} {} this ISO 8601 date and time, with its UTC offset."
    return (
        AwareIsoDateTimeFilter(
            field_name=field_name,
            lookup_expr="gte",
            help_text=help_text.format(label, "at or after"),
        ),
        AwareIsoDateTimeFilter(
            field_name=field_name, lookup_expr="lt", help_text=help_text.format(label, "before")
        ),
    )


def check_query(query: QueryDict, *, allowed: Iterable[str]) -> None:
    """Raise a ``ValidationError`` naming each parameter of ``query`` not ``allowed``
    (``unknown_field``) or given more than once (``repeated``)."""
    allowed = set(allowed)
    errors = {}
    for name, values in query.lists():
        if name not in allowed:
            message = f"Unknown query parameter; this list takes: {', '.join(sorted(allowed))}."
            errors[name] = [ErrorDetail(message, code=UNKNOWN_FIELD)]
        elif len(values) > 1:
            errors[name] = [ErrorDetail("Give this parameter once.", code=REPEATED)]
    if errors:
        raise ValidationError(errors)


class StrictFilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend; on a list, first refuses query parameters that are not the
    list's filters, its paginator's or ``format``, and any given twice (``check_query``)."""

    def filter_queryset(self, request: Request, queryset, view):
        """The list filtered; a query that names no filter leaves it as it is, without building
        django-filter's form (a default page, or the next page of a cursor)."""
        if getattr(view, "action", None) == "list":
            filter_names = self.filter_parameters(request, view, queryset)
            check_query(request.query_params, allowed=filter_names | self.paging_parameters(view))
            if not filter_names & set(request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)

    def filter_parameters(self, request: Request, view, queryset) -> set[str]:
        """The filters of the list ``view`` that the query string of ``request`` may name (and
        those its filterset's ``query_parameter_pattern`` matches, the orders'
        ``metadata[key]``)."""
        filterset_class = self.get_filterset_class(view, queryset)
        names = set(filterset_class.base_filters) if filterset_class else set()
        if pattern := getattr(filterset_class, "query_parameter_pattern", None):
            names |= {name for name in request.query_params if pattern.fullmatch(name)}
        return names

    def paging_parameters(self, view) -> set[str]:
        """The query parameters of the list ``view``'s paginator, and ``format``."""
        names = set()
        paginator = getattr(view, "paginator", None)
        for attribute in ("cursor_query_param", "page_size_query_param"):
            if getattr(paginator, attribute, None):
                names.add(getattr(paginator, attribute))
        return names | {api_settings.URL_FORMAT_OVERRIDE}


class StrictCursorPagination(CursorPagination):
    """Cursor pagination whose ``limit`` is a whole number from 1 to ``max_page_size``; any
    other is refused (400 on ``limit``), not replaced by the default."""

    page_size_query_param = "limit"

    def get_page_size(self, request: Request) -> int:
        limit = request.query_params.get(self.page_size_query_param)
        if limit is None:
            return self.page_size
        field = serializers.IntegerField(min_value=1, max_value=self.max_page_size)
        try:
            return field.run_validation(limit)
        except ValidationError as error:
            raise ValidationError({self.page_size_query_param: error.detail}) from error

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} ({self.page_size} when absent)."
                )
        return parameters
