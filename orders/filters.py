"""The filters of ``GET /api/v1/orders`` (django-filter). Ids that are not the seller's select
nothing: a filter never tells whether another seller's POS or store exists."""

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from orders import metadata
from orders.models import Api, Mode, Order, Status
from partners.input import period_filters


class IdFilter(filters.NumberFilter):
    """A row id: a whole number within the range of ``BigAutoField``."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Status.choices)
    api = filters.ChoiceFilter(choices=Api.choices, help_text="The Mercado Pago API.")
    mode = filters.ChoiceFilter(choices=Mode.choices, help_text="The QR mode.")
    pos = IdFilter(field_name="pos", help_text="Orders of this point of sale (its id).")
    store = IdFilter(field_name="pos__store", help_text="Orders of this store (its id).")
    external_reference = filters.CharFilter(help_text="Your reference of the order.")
    created_after, created_before = period_filters("created_at", "Created")

    # ``metadata[key]=value``, any number of pairs (all must hold); the strict query check
    # (``partners.input``) takes the parameters this pattern matches.
    query_parameter_pattern = metadata.QUERY_PARAMETER

    def filter_queryset(self, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return super().filter_queryset(queryset).filter(metadata.search(self.data))

    class Meta:
        model = Order
        fields = [
            "status",
            "api",
            "mode",
            "pos",
            "store",
            "external_reference",
            "created_after",
            "created_before",
        ]
