"""What creating an order sends to Mercado Pago and keeps, proved on what the sandbox received
(its own order tables) and on the calls recorded as ``MercadoPagoCall``.

Mercado Pago's failures are the sandbox's injected faults (``PUT /sandbox/_control/faults``), or,
for "no answer at all", a transport that cannot connect.
"""

import json
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from celery.signals import task_prerun
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from orders import services
from orders.errors import InvalidOrder, MercadoPagoUnavailable, RefusedByMercadoPago
from orders.models import MercadoPagoCall, Order, OrderItem, Status
from orders.validation import ItemInput
from sandbox import models as sandbox_models
from sandbox.seed import seller_access_token
from tenants.models import MercadoPagoCredential, Tenant
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import make_connected_tenant, make_oauth_tenant, make_order
from tests.faults import set_faults
from tests.mercadopago import sandbox_requests, transactions_seen_by_the_sandbox
from tests.orders.conftest import pay, reload, synced_pos

SPONSOR_ID = "900000001"  # the sandbox's integrator (merchant_platform.mercadopago)
ITEMS = (
    ItemInput("Milanesa", Decimal("25.00"), 2, sku="MIL-1"),
    ItemInput("Flan", Decimal("7.50")),
)
MODES = ("dynamic", "hybrid", "static")
ORDER_PATHS = ("/sandbox/v1/orders", "/sandbox/instore/")
COMBINATIONS = [(api, mode) for api in ("v1", "instore") for mode in MODES]


def create(tenant, pos, api: str = "v1", mode: str = "dynamic", **fields) -> Order:
    values = {"external_reference": "sale-1", "title": "Lunch", "items": ITEMS} | fields
    return services.create_order(tenant=tenant, pos=pos, api=api, mode=mode, **values)


def calls(tenant) -> list[MercadoPagoCall]:
    with tenant_scope(tenant):
        return list(MercadoPagoCall.objects.order_by("pk"))


def sent_body(tenant) -> dict:
    """The body of the one create call made for ``tenant``, as recorded."""
    (call,) = calls(tenant)
    return call.request_body


def fail_with(client, status: int, path_regex: str) -> None:
    """Every request whose path matches answers ``status`` (before the sandbox sees it)."""
    set_faults(client, seed=1, path_regex=path_regex, error_rate="1", error_statuses=[status])


def unreachable() -> httpx.MockTransport:
    """A network on which Mercado Pago never answers (``MERCADOPAGO_HTTP_TRANSPORT``)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return httpx.MockTransport(refuse)


@pytest.fixture
def tasks_run(eager_celery) -> list[str]:
    """The names of the Celery tasks run (eagerly) during the test."""
    names: list[str] = []

    def record(sender, **_):
        names.append(sender.name)

    task_prerun.connect(record, weak=False)
    yield names
    task_prerun.disconnect(record)


# What is sent ------------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_the_integrators_sponsor_id_is_always_sent(seller, pos, api, mode):
    order = create(seller, pos, api, mode)
    sent = sandbox_models.Order.objects.get()
    assert sent.sponsor_id == int(SPONSOR_ID)
    if api == "v1":
        assert sent_body(seller)["integration_data"]["sponsor"] == {"id": SPONSOR_ID}
    else:
        assert sent_body(seller)["sponsor"] == {"id": int(SPONSOR_ID)}
    assert order.sponsor_id == SPONSOR_ID


def attribution_headers(environ: dict) -> tuple[str | None, str | None]:
    return environ.get("HTTP_X_PLATFORM_ID"), environ.get("HTTP_X_INTEGRATOR_ID")


def test_platform_and_integrator_ids_go_in_integration_data_when_set(seller, pos, settings):
    settings.MERCADOPAGO_PLATFORM_ID = "dev_1234567890"
    settings.MERCADOPAGO_INTEGRATOR_ID = "dev_1234"
    create(seller, pos)
    data = sandbox_models.Order.objects.get().integration_data
    assert data["platform_id"] == "dev_1234567890"
    assert data["integrator_id"] == "dev_1234"
    assert data["sponsor"] == {"id": SPONSOR_ID}


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_platform_and_integrator_ids_go_as_headers_when_set(seller, pos, settings, api, mode):
    """The legacy API has no body field for them: the headers are its only attribution."""
    settings.MERCADOPAGO_PLATFORM_ID = "dev_1234567890"
    settings.MERCADOPAGO_INTEGRATOR_ID = "dev_1234"
    seen = []
    with sandbox_requests(lambda environ: seen.append(attribution_headers(environ)), *ORDER_PATHS):
        create(seller, pos, api, mode)
    assert seen == [("dev_1234567890", "dev_1234")]


def test_platform_and_integrator_ids_are_left_out_when_not_set(seller, pos, settings):
    settings.MERCADOPAGO_PLATFORM_ID = settings.MERCADOPAGO_INTEGRATOR_ID = ""
    seen = []
    with sandbox_requests(lambda environ: seen.append(attribution_headers(environ)), *ORDER_PATHS):
        create(seller, pos)
    assert set(sent_body(seller)["integration_data"]) == {"sponsor"}
    assert seen == [(None, None)]


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_what_is_sent_is_what_is_kept(seller, pos, api, mode):
    order = reload(create(seller, pos, api, mode, description="Mesa 4"))
    sent = sandbox_models.Order.objects.get()
    assert order.status == Status.CREATED
    assert (sent.external_reference, sent.external_pos_id, sent.description) == (
        "sale-1",
        "CAJA1",
        "Mesa 4",
    )
    assert order.currency == sent.currency == "ARS"
    assert order.total_amount == sent.total_amount == Decimal("57.50")
    assert [item["title"] for item in sent.items] == ["Milanesa", "Flan"]
    with tenant_scope(seller):
        kept = list(order.items.values_list("position", "title", "unit_price", "quantity", "sku"))
    assert kept == [
        (0, "Milanesa", Decimal("25.00"), 2, "MIL-1"),
        (1, "Flan", Decimal("7.50"), 1, ""),
    ]
    assert order.qr_data == sent.qr_data
    assert bool(order.qr_data) == (mode != "static")
    if api == "v1" or mode != "static":
        assert order.mp_order_id == sent.order_id
    assert abs(order.expires_at - sent.expires_at) < timedelta(seconds=1)


def test_an_orders_api_description_defaults_to_the_title(seller, pos):
    create(seller, pos)
    assert sandbox_models.Order.objects.get().description == "Lunch"


def test_a_static_orders_api_order_is_payable_for_ten_minutes_at_most(seller, pos):
    """Mercado Pago caps what the printed QR shows; the local expiry follows the cap."""
    before = timezone.now()
    order = create(seller, pos, mode="static", expiration_time=timedelta(hours=1))
    assert sent_body(seller)["expiration_time"] == "PT1H"
    assert order.expiration_seconds == 3600
    assert before + timedelta(minutes=10) <= order.expires_at
    assert order.expires_at <= timezone.now() + timedelta(minutes=10)
    sent = sandbox_models.Order.objects.get()
    assert abs(order.expires_at - sent.expires_at) < timedelta(seconds=1)


# Amounts -----------------------------------------------------------------------------------


def test_orders_api_amounts_are_strings_with_two_decimals(seller, pos):
    items = [ItemInput("Chicle", Decimal("0.10"), 3), ItemInput("Agua", Decimal("2"))]
    order = create(seller, pos, items=items)
    body = sent_body(seller)
    assert body["total_amount"] == "2.30"
    assert body["transactions"] == {"payments": [{"amount": "2.30"}]}
    assert [item["unit_price"] for item in body["items"]] == ["0.10", "2.00"]
    assert sandbox_models.Order.objects.get().total_amount == Decimal("2.30")
    order = reload(order)
    assert isinstance(order.total_amount, Decimal)
    assert order.total_amount == Decimal("2.30")


def test_legacy_amounts_are_json_numbers(seller, pos):
    items = [ItemInput("Chicle", Decimal("0.10"), 3), ItemInput("Agua", Decimal("2"))]
    create(seller, pos, "instore", items=items)
    sent = sandbox_models.Order.objects.get()
    assert sent.total_amount == Decimal("2.30")
    prices = [(item["unit_price"], item["total_amount"]) for item in sent.items]
    assert all(isinstance(value, int | float) for pair in prices for value in pair)
    assert [(Decimal(str(price)), Decimal(str(total))) for price, total in prices] == [
        (Decimal("0.10"), Decimal("0.30")),
        (Decimal(2), Decimal(2)),
    ]


@pytest.fixture
def chile(db):
    tenant = make_connected_tenant("Empanadas", site="MLC")
    return tenant, synced_pos(tenant)


def test_clp_amounts_go_without_decimals(chile):
    tenant, pos = chile
    create(tenant, pos, items=[ItemInput("Empanada", Decimal("2500.00"), 3)])
    body = sent_body(tenant)
    assert (body["total_amount"], body["items"][0]["unit_price"]) == ("7500", "2500")
    assert sandbox_models.Order.objects.get().currency == "CLP"


def test_legacy_clp_amounts_are_whole_numbers(chile):
    tenant, pos = chile
    create(tenant, pos, "instore", items=[ItemInput("Empanada", Decimal("2500.00"), 3)])
    item = sandbox_models.Order.objects.get().items[0]
    assert (item["unit_price"], item["total_amount"]) == (2500, 7500)
    assert isinstance(item["unit_price"], int)


# Marketplace fee ---------------------------------------------------------------------------


def with_policy(tenant: Tenant, **policy) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(**policy)
    tenant.refresh_from_db()
    return tenant


@pytest.fixture
def oauth_seller(db):
    tenant = make_oauth_tenant("Parrilla OAuth", site="MLA")
    return tenant, synced_pos(tenant)


@pytest.mark.parametrize(
    ("policy", "fee"),
    [
        ({"fee_percent": Decimal(10), "fee_fixed": Decimal("1.00")}, Decimal("6.75")),
        ({"fee_percent": Decimal(10), "fee_cap": Decimal("3.00")}, Decimal("3.00")),
        ({"fee_fixed": Decimal("0.50")}, Decimal("0.50")),
        ({"fee_percent": Decimal("3.33")}, Decimal("1.91")),  # 1.91475, half up
    ],
    ids=["percent-and-fixed", "capped", "fixed", "rounded"],
)
@pytest.mark.parametrize("api", ["v1", "instore"])
def test_an_oauth_seller_pays_the_fee_of_its_policy(oauth_seller, api, policy, fee):
    tenant, pos = oauth_seller
    tenant = with_policy(tenant, **policy)
    assert tenant.marketplace_fee_for(Decimal("57.50")) == fee
    order = create(tenant, pos, api)
    assert order.marketplace_fee == fee
    assert sandbox_models.Order.objects.get().marketplace_fee == fee
    if api == "v1":
        assert sent_body(tenant)["marketplace_fee"] == f"{fee:.2f}"


def test_an_oauth_seller_without_a_fee_policy_pays_no_fee(oauth_seller):
    tenant, pos = oauth_seller
    order = create(tenant, pos)
    assert order.marketplace_fee is None
    assert "marketplace_fee" not in sent_body(tenant)


def test_a_fee_asked_for_replaces_the_policy(oauth_seller):
    tenant, pos = oauth_seller
    tenant = with_policy(tenant, fee_percent=Decimal(10))
    create(tenant, pos, marketplace_fee=Decimal("2.00"))
    assert sent_body(tenant)["marketplace_fee"] == "2.00"


def test_the_fee_of_a_clp_policy_is_whole(db):
    tenant = with_policy(make_oauth_tenant(site="MLC"), fee_percent=Decimal("3.33"))
    create(tenant, synced_pos(tenant), items=[ItemInput("Empanada", Decimal(1000))])
    assert sent_body(tenant)["marketplace_fee"] == "33"
    assert sandbox_models.Order.objects.get().marketplace_fee == Decimal(33)


@pytest.mark.parametrize("api", ["v1", "instore"])
def test_a_seller_with_its_own_token_pays_no_fee_whatever_its_policy(seller, pos, api):
    """The sandbox, like Mercado Pago, would refuse the fee (marketplace_not_valid)."""
    seller = with_policy(seller, fee_percent=Decimal(10), fee_fixed=Decimal("1.00"))
    order = create(seller, pos, api)
    assert order.status == Status.CREATED
    assert order.marketplace_fee is None
    assert "marketplace_fee" not in sent_body(seller)
    assert sandbox_models.Order.objects.get().marketplace_fee is None


# Saved before the call, sent again with the same key ---------------------------------------


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_the_order_and_its_key_are_saved_before_mercado_pago_is_called(seller, pos, api, mode):
    seen = []

    def look(environ):
        with cross_tenant_scope():
            seen.extend(Order.objects.values_list("status", "create_idempotency_key"))

    with sandbox_requests(look, *ORDER_PATHS):
        order = create(seller, pos, api, mode)
    assert seen == [(Status.PENDING, order.create_idempotency_key)]
    assert order.create_idempotency_key == f"{seller.pk}-{order.uid}-create"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_no_transaction_is_open_while_mercado_pago_is_called(seller, pos, client, api, mode):
    """A slow Mercado Pago holds no lock: create, cancel and refund call it outside any."""
    paths = (*ORDER_PATHS, "/sandbox/v1/payments", "/sandbox/merchant_orders")
    with transactions_seen_by_the_sandbox(*paths) as seen:
        order = create(seller, pos, api, mode)
        if (api, mode) != ("instore", "dynamic"):
            services.cancel_order(tenant=seller, order=order)
        order = create(seller, pos, api, mode, external_reference="sale-2")
        pay(client, order)
        order = services.refresh_order(tenant=seller, order=order)
        services.refund_order(tenant=seller, order=order, amount=Decimal("1.00"))
    assert len(seen) >= 4
    assert not any(seen)


@pytest.mark.parametrize("status", [500, 503])
def test_an_order_mercado_pago_could_not_take_stays_pending_with_its_key(
    seller, pos, client, status, tasks_run, django_capture_on_commit_callbacks
):
    fail_with(client, status, "^/v1/orders$")
    with django_capture_on_commit_callbacks() as on_commit:
        order = create(seller, pos)
    assert order.status == Status.PENDING
    assert order.create_idempotency_key == f"{seller.pk}-{order.uid}-create"
    assert order.error_code in ("internal_server_error", "service_unavailable")
    assert f"POST /v1/orders -> {status}" in order.error_message
    attempts = calls(seller)
    assert [call.status for call in attempts] == [status] * 4
    assert {call.idempotency_key for call in attempts} == {order.create_idempotency_key}
    assert not sandbox_models.Order.objects.exists()

    client.delete("/sandbox/_control/faults")
    for callback in on_commit:  # the transaction commits: the retry is queued and runs
        callback()
    assert tasks_run == ["orders.submit_order"]
    order = reload(order)
    assert order.status == Status.CREATED
    assert order.mp_order_id == sandbox_models.Order.objects.get().order_id
    last = calls(seller)[-1]
    assert (last.status, last.idempotency_key) == (201, order.create_idempotency_key)


def test_submit_order_sends_a_pending_order_with_its_saved_key(seller, pos, client):
    fail_with(client, 503, "^/v1/orders$")
    order = create(seller, pos)
    client.delete("/sandbox/_control/faults")
    order = services.submit_order(tenant=seller, order=order)
    assert order.status == Status.CREATED
    assert order.error_code == ""
    assert {call.idempotency_key for call in calls(seller)} == {order.create_idempotency_key}
    assert sandbox_models.Order.objects.count() == 1


def test_a_create_sent_again_after_a_lost_answer_makes_no_second_order(seller, pos):
    """What a lost answer leaves (the order pending, Mercado Pago holding it) is resolved by the
    same key: Mercado Pago answers with the order it made the first time."""
    first = create(seller, pos)
    with tenant_scope(seller):
        Order.objects.filter(pk=first.pk).update(status=Status.PENDING, mp_order_id="")
    again = services.submit_order(tenant=seller, order=first)
    assert again.status == Status.CREATED
    assert again.mp_order_id == first.mp_order_id
    assert sandbox_models.Order.objects.count() == 1
    keys = [call.idempotency_key for call in calls(seller)]
    assert keys == [first.create_idempotency_key] * 2


def test_submitting_an_order_that_is_no_longer_pending_sends_nothing(seller, pos):
    order = create(seller, pos)
    assert services.submit_order(tenant=seller, order=order).status == Status.CREATED
    assert len(calls(seller)) == 1


def test_a_pending_order_past_its_expiry_fails_instead_of_being_sent(seller, pos):
    """The buyer has gone: Mercado Pago would make a live order that nobody will pay."""
    order = make_order(seller, pos=pos, expires_at=timezone.now() - timedelta(seconds=1))

    order = services.submit_order(tenant=seller, order=order)

    assert (order.status, order.error_code) == (Status.FAILED, "expired_before_accepted")
    assert "before it expired" in order.error_message
    # Looked for first (orders.recovery: no create of it was recorded), never sent.
    assert [(call.method, call.path) for call in calls(seller)] == [("GET", "/v1/orders")]
    assert not sandbox_models.Order.objects.exists()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [500, 503])
def test_a_legacy_order_mercado_pago_failed_to_take_stays_pending(
    seller, pos, client, mode, status
):
    fail_with(client, status, "^/instore/")
    order = create(seller, pos, "instore", mode)
    assert order.status == Status.PENDING
    expected = "in_store_order_creation_error" if status == 500 else "service_unavailable"
    assert order.error_code == expected
    assert not sandbox_models.Order.objects.exists()

    client.delete("/sandbox/_control/faults")
    order = services.submit_order(tenant=seller, order=order)
    assert order.status == Status.CREATED
    assert sandbox_models.Order.objects.get().external_reference == "sale-1"


def test_a_dynamic_legacy_create_is_sent_once_since_mercado_pago_does_not_dedupe_it(
    seller, pos, client
):
    fail_with(client, 503, "^/instore/")
    create(seller, pos, "instore", "dynamic")
    (call,) = calls(seller)
    assert (call.method, call.status, call.idempotency_key) == ("POST", 503, "")


def test_a_legacy_dynamic_order_that_got_no_answer_fails_and_is_not_sent_again(
    seller, pos, settings, tasks_run, django_capture_on_commit_callbacks
):
    """Mercado Pago may have made it, and would make a second one: the cashier starts over."""
    settings.MERCADOPAGO_HTTP_TRANSPORT = "tests.orders.test_create.unreachable"
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(MercadoPagoUnavailable) as caught,
    ):
        create(seller, pos, "instore", "dynamic")
    assert caught.value.message == services._NO_ANSWER
    assert tasks_run == []
    with tenant_scope(seller):
        order = Order.objects.get()
    assert order.status == Status.FAILED
    assert order.error_code == order.status_detail == "mercadopago_no_answer"
    assert order.error_message == services._NO_ANSWER
    (call,) = calls(seller)
    assert (call.status, call.error) == (None, "ConnectError")
    assert services.submit_order(tenant=seller, order=order).status == Status.FAILED
    assert len(calls(seller)) == 1
    # Mercado Pago may hold an order with its reference: a second one would be a duplicate
    # there, so the reference stays taken; the new attempt takes another one.
    with pytest.raises(InvalidOrder) as taken:
        create(seller, pos, "instore", "dynamic")
    assert taken.value.code == "duplicate_external_reference"
    with pytest.raises(MercadoPagoUnavailable):
        create(seller, pos, "instore", "dynamic", external_reference="sale-2")


@pytest.mark.parametrize(("api", "mode"), [("v1", "dynamic"), ("instore", "hybrid")])
def test_an_order_that_got_no_answer_stays_pending_where_a_resend_is_safe(
    seller, pos, settings, api, mode
):
    settings.MERCADOPAGO_HTTP_TRANSPORT = "tests.orders.test_create.unreachable"
    order = create(seller, pos, api, mode)
    assert order.status == Status.PENDING
    assert order.error_code == "TransportFailure"
    attempts = calls(seller)
    assert [call.error for call in attempts] == ["ConnectError"] * 4
    assert {call.idempotency_key for call in attempts} == (
        {order.create_idempotency_key} if api == "v1" else {""}
    )


@pytest.mark.parametrize("api", ["v1", "instore"])
def test_a_pending_order_for_the_printed_qr_is_not_sent_once_a_newer_one_took_its_pos(
    seller, pos, settings, api
):
    """Sending it late would take the POS's printed QR back from the newer order (and cancel
    that one in Mercado Pago)."""
    in_process = settings.MERCADOPAGO_HTTP_TRANSPORT
    settings.MERCADOPAGO_HTTP_TRANSPORT = "tests.orders.test_create.unreachable"
    old = create(seller, pos, api, "hybrid", external_reference="old")
    assert old.status == Status.PENDING
    settings.MERCADOPAGO_HTTP_TRANSPORT = in_process
    newer = create(seller, pos, api, "hybrid", external_reference="newer")
    assert newer.status == Status.CREATED
    before = len(calls(seller))

    old = services.submit_order(tenant=seller, order=old)

    assert (old.status, old.error_code) == (Status.FAILED, "replaced_before_accepted")
    # Not sent; an Orders API order whose creates got no answer is looked for first.
    assert [call.method for call in calls(seller)[before:]] == (["GET"] if api == "v1" else [])
    shown = sandbox_models.Order.objects.get(external_reference="newer")
    assert (shown.status, shown.attached) == ("created", True)


# Refused by Mercado Pago -------------------------------------------------------------------


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_an_order_mercado_pago_refuses_is_failed_with_its_code(
    seller, pos, api, mode, tasks_run, django_capture_on_commit_callbacks
):
    """The POS was deleted in Mercado Pago after it was synced here."""
    sandbox_models.PointOfSale.objects.filter(external_id=pos.external_id).delete()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RefusedByMercadoPago) as caught,
    ):
        create(seller, pos, api, mode)
    assert (caught.value.code, caught.value.status) == ("pos_not_found", 404)
    if api == "v1":  # the legacy in-store API answers its errorKey alone (its OpenAPI)
        assert "CAJA1" in caught.value.message
    with tenant_scope(seller):
        order = Order.objects.get()
    assert order.status == Status.FAILED
    assert order.error_code == order.status_detail == "pos_not_found"
    assert order.closed_at is not None
    assert tasks_run == []  # a refusal is final: nothing is sent again
    (call,) = calls(seller)
    assert call.status == 404
    assert not sandbox_models.Order.objects.exists()


# The audit trail ---------------------------------------------------------------------------

COLLECTOR = "/instore/orders/qr/seller/collectors/100000001"
ENDPOINTS = {
    ("v1", "dynamic"): ("POST", "/v1/orders", 201),
    ("v1", "hybrid"): ("POST", "/v1/orders", 201),
    ("v1", "static"): ("POST", "/v1/orders", 201),
    ("instore", "dynamic"): ("POST", f"{COLLECTOR}/pos/CAJA1/qrs", 200),
    ("instore", "hybrid"): ("PUT", f"{COLLECTOR}/pos/CAJA1/qrs", 201),
    ("instore", "static"): (
        "PUT",
        "/instore/qr/seller/collectors/100000001/stores/CENTRO1/pos/CAJA1/orders",
        204,
    ),
}


@pytest.mark.parametrize(("api", "mode"), COMBINATIONS)
def test_every_call_is_recorded_on_its_order(seller, pos, api, mode):
    order = create(seller, pos, api, mode)
    (call,) = calls(seller)
    assert call.order_id == order.pk
    assert (call.method, call.path, call.status) == ENDPOINTS[api, mode]
    assert (call.attempt, call.error) == (1, "")
    assert call.idempotency_key == (order.create_idempotency_key if api == "v1" else "")
    assert call.request_body["external_reference"] == "sale-1"
    if api == "v1":
        assert call.response_body["id"] == order.mp_order_id
    elif mode != "static":
        assert call.response_body["qr_data"] == order.qr_data
    else:
        assert call.response_body is None  # 204 No Content


def test_a_call_records_how_long_mercado_pago_took(seller, pos, client):
    set_faults(client, path_regex="^/v1/orders$", latency_ms=30)
    create(seller, pos)
    (call,) = calls(seller)
    assert call.duration_ms >= 30


def test_every_attempt_is_recorded_with_mercado_pagos_error(seller, pos, client):
    fail_with(client, 503, "^/v1/orders$")
    order = create(seller, pos)
    attempts = calls(seller)
    assert [call.attempt for call in attempts] == [1, 2, 3, 4]
    assert {call.order_id for call in attempts} == {order.pk}
    assert attempts[0].response_body["errors"][0]["code"] == "service_unavailable"
    assert attempts[0].request_body == attempts[-1].request_body


def stored_rows(tenant) -> str:
    """Every row kept about ``tenant``'s orders and their calls, as JSON text."""
    with tenant_scope(tenant):
        rows = [
            *MercadoPagoCall.objects.values(),
            *Order.objects.values(),
            *OrderItem.objects.values(),
        ]
    assert rows
    return json.dumps(rows, cls=DjangoJSONEncoder)


def created(tenant, pos, api, client, settings):
    assert create(tenant, pos, api).status == Status.CREATED


def refused(tenant, pos, api, client, settings):
    sandbox_models.PointOfSale.objects.filter(external_id=pos.external_id).delete()
    with pytest.raises(RefusedByMercadoPago):
        create(tenant, pos, api)


def unavailable(tenant, pos, api, client, settings):
    fail_with(client, 500, "^/(v1|instore)/")
    assert create(tenant, pos, api).status == Status.PENDING


def unanswered(tenant, pos, api, client, settings):
    settings.MERCADOPAGO_HTTP_TRANSPORT = "tests.orders.test_create.unreachable"
    with pytest.raises(MercadoPagoUnavailable) if api == "instore" else nullcontext():
        create(tenant, pos, api)


@pytest.mark.parametrize(
    "outcome", [created, refused, unavailable, unanswered], ids=lambda outcome: outcome.__name__
)
@pytest.mark.parametrize("api", ["v1", "instore"])
def test_the_sellers_token_is_stored_nowhere(seller, pos, client, settings, api, outcome):
    with tenant_scope(seller):
        token = MercadoPagoCredential.objects.get().access_token
    assert token == seller_access_token("MLA")
    outcome(seller, pos, api, client, settings)
    assert calls(seller)
    assert token not in stored_rows(seller)


def test_an_oauth_sellers_tokens_are_stored_nowhere(oauth_seller, client):
    tenant, pos = oauth_seller
    with tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.get()
    secrets = {credential.access_token, credential.refresh_token}
    assert credential.source == "oauth"
    assert all(secrets)
    fail_with(client, 503, "^/v1/orders$")
    create(tenant, pos, external_reference="sale-1")
    client.delete("/sandbox/_control/faults")
    create(tenant, pos, "instore", external_reference="sale-2")
    rows = stored_rows(tenant)
    assert len(calls(tenant)) == 5
    for secret in secrets:
        assert secret not in rows


def test_a_legacy_dynamic_qr_cut_off_before_an_answer_is_failed_by_reconciliation(seller, pos):
    """Its process died while Mercado Pago answered (nothing noted on the pending order): the
    reconciliation that finds it must not send it again, Mercado Pago may hold it already."""
    cut_off = make_order(
        seller, pos, api="instore", mode="dynamic", external_reference="sale-1", title="Lunch"
    )

    order = services.refresh_order(tenant=seller, order=cut_off)

    assert (order.status, order.error_code) == (Status.FAILED, "mercadopago_no_answer")
    assert calls(seller) == []
    assert not sandbox_models.Order.objects.exists()
