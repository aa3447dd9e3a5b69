"""The API's JSON is written by orjson (``partners.rest.FastJSONRenderer``) and is DRF's own,
byte for byte: for answers of the API as they are, and for what only DRF's encoder knows."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from partners.rest import FastJSONRenderer
from tests.api.conftest import api_client, issue_token
from tests.factories import make_order

AWKWARD = {
    "text": 'Peña «ñ» \u2028 and \u2029, 😀, "quoted" \\ slash </script>',
    "when": datetime(2026, 12, 6, 15, 4, 5, 123456, tzinfo=UTC),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "amount": Decimal("1500.50"),
    "lazy": gettext_lazy("Mercado Pago"),
    "error": [ErrorDetail("Not valid.", code="invalid")],
    "numbers": (1, 2.5, -3, 2**63 - 1),
    "nested": ReturnDict({1: None, "b": [True, False]}, serializer=None),
    "set": {7},
    "huge": 2**70,
}


@pytest.mark.parametrize("data", [AWKWARD, [], {}, "plain", None, {"k": 1.0}])
def test_what_only_drfs_encoder_knows_is_written_as_drf_writes_it(data):
    expected = JSONRenderer().render(data)

    assert FastJSONRenderer().render(data) == expected


@pytest.mark.django_db
def test_an_order_list_is_drfs_json_to_the_byte(seller, pos):
    for _ in range(3):
        make_order(seller, pos=pos, metadata={"mesa": "7"})
    answer = api_client(issue_token(seller)).get("/api/v1/orders")

    assert answer.status_code == 200
    assert answer.content == JSONRenderer().render(answer.json())


def test_an_indented_answer_asked_for_is_drfs():
    context = {"indent": 2}

    assert FastJSONRenderer().render({"a": [1]}, "application/json; indent=2", context) == (
        JSONRenderer().render({"a": [1]}, "application/json; indent=2", context)
    )
