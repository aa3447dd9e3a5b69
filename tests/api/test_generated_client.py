"""A Python client generated from ``/api/schema/`` with openapi-python-client, as a partner would
make one: every module it generates imports, and it runs a POS company's whole flow against the
API (in-process, over ``httpx.WSGITransport``), each answer parsed into its typed model.

The client is generated once for the module, into a temporary folder, without the generator's
formatting hooks (ruff): what is tested is the code it writes from the schema.
"""

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from django.core.wsgi import get_wsgi_application
from django.test import Client

from orders.models import Order
from tenants.scope import tenant_scope
from tests.api.conftest import issue_token
from tests.factories import make_connected_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

PACKAGE = "partner_client"
# Installed by `make test` in a venv of its own (Makefile: CODEGEN), beside the project's.
GENERATOR = Path(sys.prefix) / "codegen" / "bin" / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    """The package generated from the served schema, importable; its name."""
    folder = tmp_path_factory.mktemp("generated")
    schema = Client().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    (folder / "schema.json").write_bytes(schema.content)
    config = {"post_hooks": [], "project_name_override": "partner-client"}
    config |= {"package_name_override": PACKAGE}
    (folder / "config.json").write_text(json.dumps(config))
    run = subprocess.run(  # noqa: S603 (the generator `make test` installs)
        [
            str(GENERATOR),
            "generate",
            *("--path", str(folder / "schema.json")),
            *("--config", str(folder / "config.json")),
            *("--output-path", str(folder / "client")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(folder / "client"))
    yield PACKAGE
    sys.path.remove(str(folder / "client"))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def generated_module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_generated_module_imports(generated):
    package = importlib.import_module(generated)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, f"{generated}.")]
    failures = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # each failure is reported
            failures[name] = repr(error)
    assert failures == {}
    assert f"{generated}.api.orders.orders_create" in names
    assert len(names) > 50


def test_the_generated_client_runs_the_whole_flow(generated):
    seller = make_connected_tenant("Parrilla", site="MLA")
    api = generated_module("api")
    models = generated_module("models")
    client = generated_module("client").AuthenticatedClient(
        base_url="http://testserver",
        token=issue_token(seller),
        httpx_args={"transport": httpx.WSGITransport(app=get_wsgi_application())},
        raise_on_unexpected_status=True,
    )
    call = _caller(api, client)

    tenant = call("tenant.tenant_retrieve")
    assert isinstance(tenant, models.Tenant)
    assert tenant.currency == "ARS"

    store = call(
        "stores.stores_create",
        body=models.StoreRequest(
            name="Centro",
            external_id="CENTRO1",
            street_name="Av. Corrientes",
            street_number="1234",
            city="CABA",
            state="Buenos Aires",
            latitude="-34.6037",
            longitude="-58.3816",
        ),
        idempotency_key="store-1",
    )
    assert isinstance(store, models.Store)
    pos = call(
        "pos.pos_create",
        body=models.PointOfSaleRequest(store=store.id, name="Caja 1", external_id="CAJA1"),
        idempotency_key="pos-1",
    )
    assert isinstance(pos, models.PointOfSale)
    assert pos.sync_state == models.SyncStateEnum.SYNCED

    def new_order(reference: str) -> object:
        return call(
            "orders.orders_create",
            body=models.OrderCreateRequest(
                pos=pos.id,
                api=models.ApiEnum.V1,
                mode=models.ModeEnum.DYNAMIC,
                external_reference=reference,
                title="Mesa 7",
                currency="ARS",
                items=[
                    models.ItemInputRequest(title="Bife", unit_price="50.00", quantity=2),
                ],
            ),
            idempotency_key=f"order-{reference}",
        )

    order = new_order("sale-1")
    assert isinstance(order, models.Order)
    assert (order.status, order.total_amount) == (models.OrderStatusEnum.CREATED, "100.00")
    other = new_order("sale-2")

    listed = call("orders.orders_list", limit=10)
    assert isinstance(listed, models.PaginatedOrderList)
    assert [o.uid for o in listed.results] == [other.uid, order.uid]
    shown = call("orders.orders_retrieve", uid=order.uid)
    assert isinstance(shown, models.Order)
    assert shown.external_reference == "sale-1"

    canceled = call("orders.orders_cancel", uid=other.uid, idempotency_key="cancel-2")
    assert canceled.status == models.OrderStatusEnum.CANCELED

    paid = call("sandbox.sandbox_orders_pay", uid=order.uid, idempotency_key="pay-1")
    assert paid.status == models.OrderStatusEnum.PROCESSED
    assert paid.paid_amount == "100.00"

    refunded = call(
        "orders.orders_refund",
        uid=order.uid,
        body=models.RefundAmountRequest(amount="40.00"),
        idempotency_key="refund-1",
    )
    assert isinstance(refunded, models.Order)
    assert [(r.amount, type(r)) for r in refunded.refunds] == [("40.00", models.Refund)]
    assert refunded.amount_available_for_refund == "60.00"
    with tenant_scope(seller):
        assert Order.objects.get(uid=order.uid).refunded_amount == 40


def _caller(api: ModuleType, client) -> callable:
    """``call("orders.orders_create", ...)``: the operation's ``sync_detailed``, checked to be a
    2xx, its parsed model returned."""

    def call(operation: str, **arguments):
        module = importlib.import_module(f"{api.__name__}.{operation}")
        response = module.sync_detailed(client=client, **arguments)
        assert 200 <= response.status_code < 300, response.content
        return response.parsed

    return call
