"""Schemathesis over the whole partner API (``/api/schema/``): every operation, called over WSGI
with a token that has every scope, for a seller connected to the sandbox with a synced store and
POS, orders and a webhook endpoint. No answer is a 5xx, and every answer (status, content type,
body, headers) is one the schema describes.

Path ids are the seller's real objects as often as random ones, so operations reach real rows,
not only 404s. The run is derandomized (a fixed seed) and small per operation.
"""

import zlib
from decimal import Decimal

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders import services as order_services
from orders.models import Order
from orders.validation import ItemInput
from partners.models import WebhookEndpoint
from pos.models import PointOfSale, Store
from tenants.scope import tenant_scope
from tests.api.conftest import issue_token
from tests.factories import make_connected_tenant, make_webhook_endpoint
from tests.orders.conftest import pay, synced_pos

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# A fixed seed; the fuzzing phase sends valid and invalid input, up to 12 cases an operation; the
# coverage phase sends each operation's boundary values (valid ones only: its invalid ones, several
# hundred for a large body, would take minutes).
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240601,
        "generation": {"max-examples": 12},
        "phases": {"coverage": {"generation": {"mode": "positive"}}},
    }
)


@pytest.fixture
def seller(db, eager_celery):
    """A connected seller with a synced store and POS, an open and a paid order, a webhook
    endpoint; tasks run in-process."""
    tenant = make_connected_tenant("Parrilla", site="MLA")
    pos = synced_pos(tenant)
    for reference in ("open-1", "paid-1"):
        order = order_services.create_order(
            tenant=tenant,
            pos=pos,
            api="v1",
            mode="dynamic",
            external_reference=reference,
            title="Cena",
            items=[ItemInput("Bife", Decimal("50.00"), 2)],
        )
    pay(Client(), order)
    order_services.refresh_order(tenant=tenant, order=order)
    make_webhook_endpoint(tenant)
    return tenant


@pytest.fixture
def real_ids(seller) -> dict[str, list]:
    """The seller's real path ids, per path prefix."""
    with tenant_scope(seller):
        return {
            "/api/v1/orders/": [str(uid) for uid in Order.objects.values_list("uid", flat=True)],
            "/api/v1/stores/": list(Store.objects.values_list("pk", flat=True)),
            "/api/v1/pos/": list(PointOfSale.objects.values_list("pk", flat=True)),
            "/api/v1/webhook-endpoints/": list(
                WebhookEndpoint.objects.values_list("pk", flat=True)
            ),
        }


@pytest.fixture
def token(seller) -> str:
    return issue_token(seller)


# Loaded once, at collection: schemathesis.pytest.from_fixture breaks on pytest 9 (it sets the
# removed ``Function._nodeid``), so the seller's objects reach the cases through fixtures instead.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=CONFIG
)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_every_operation_answers_as_the_schema_says(case, token, real_ids):
    _aim_at_real_objects(case, real_ids)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def _aim_at_real_objects(case, real_ids: dict[str, list]) -> None:
    """Half the generated ids (by a checksum, so the run stays deterministic) are replaced by
    the seller's real objects; the others stay as generated."""
    ids = next((ids for prefix, ids in real_ids.items() if case.path.startswith(prefix)), [])
    for name in ("id", "uid"):
        generated = (case.path_parameters or {}).get(name)
        checksum = zlib.crc32(str(generated).encode())
        if ids and generated is not None and checksum % 2 == 0:
            case.path_parameters[name] = ids[checksum // 2 % len(ids)]
