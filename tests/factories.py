"""Row factories for the tests, including one for every tenant-owned model.

``TENANT_OWNED_FACTORIES`` must name every model with a ``tenant`` field: the isolation test in
``test_tenancy.py`` fails for a new tenant-owned model until it has a factory here.
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from itertools import count
from urllib.parse import parse_qsl, urlsplit

from django.db.models import Model
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant

from accounts.models import Invitation
from disputes.models import Dispute
from orders.models import MercadoPagoCall, Order, OrderItem, Payment, Refund
from partners.models import (
    DeliveryAttempt,
    Event,
    GrantedCode,
    GrantedToken,
    IdempotentRequest,
    PartnerGrant,
    WebhookDelivery,
    WebhookEndpoint,
)
from partners.services import install_application
from pos.models import PointOfSale, PosImport, Store
from reports.models import Mismatch, ReportFile, ReportKind, ReportLine
from sandbox.seed import SITES as SANDBOX_SITES
from sandbox.seed import seller_access_token
from tenants import oauth, services
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Role
from tenants.scope import tenant_scope

_sequence = count(1)


def make_user(username: str | None = None, **fields) -> User:
    username = username or f"user{next(_sequence)}"
    user = User(username=username, email=f"{username}@example.com", **fields)
    user.set_password("test-pass-123")
    user.save()
    return user


def make_tenant(name: str | None = None, site: str = "MLA", **fields) -> Tenant:
    name = name or f"Seller {next(_sequence)}"
    tenant = services.create_tenant(name=name, site=site)
    if fields:
        Tenant.objects.filter(pk=tenant.pk).update(**fields)
        tenant.refresh_from_db()
    return tenant


def make_member(
    tenant: Tenant, role: str = Role.OWNER, username: str | None = None, language: str = ""
) -> User:
    """A member of ``tenant``; ``language`` "" reads the pages in the seller's language."""
    user = make_user(username, language=language)
    services.add_member(tenant=tenant, user=user, role=role)
    return user


def make_connected_tenant(name: str | None = None, site: str = "MLA") -> Tenant:
    """A seller connected (by its own access token) to the sandbox's test seller of ``site``."""
    tenant = make_tenant(name, site=site)
    services.connect_with_access_token(tenant=tenant, access_token=seller_access_token(site))
    return tenant


SANDBOX_SELLERS = {site: seller for site, seller, _buyer, _city in SANDBOX_SITES}


def make_oauth_tenant(name: str | None = None, site: str = "MLA") -> Tenant:
    """A seller connected through OAuth to the sandbox's test seller of ``site`` (the sandbox's
    consent shortcut, without its page), so a marketplace fee is allowed."""
    tenant = make_tenant(name, site=site)
    pending, url = oauth.begin_authorization(tenant=tenant)
    consent = dict(parse_qsl(urlsplit(url).query)) | {"user_id": SANDBOX_SELLERS[site]}
    answer = Client().post(
        "/sandbox/_control/oauth/authorize", consent, content_type="application/json"
    )
    oauth.complete_authorization(
        tenant=tenant, pending=pending, state=pending.state, code=answer.json()["code"]
    )
    tenant.refresh_from_db()
    return tenant


def _membership(tenant: Tenant) -> Membership:
    with tenant_scope(tenant):
        return Membership.objects.create(tenant=tenant, user=make_user(), role=Role.VIEWER)


def _credential(tenant: Tenant) -> MercadoPagoCredential:
    with tenant_scope(tenant):
        return MercadoPagoCredential.objects.create(
            tenant=tenant,
            source=MercadoPagoCredential.Source.MANUAL,
            mp_user_id=next(_sequence),
            access_token=f"APP_USR-1-000000-test-{tenant.pk}",
            access_token_tail=f"{tenant.pk:04d}"[-4:],
        )


def make_store(tenant: Tenant, **fields) -> Store:
    """A store saved locally only (pending sync), in Buenos Aires unless told otherwise."""
    n = next(_sequence)
    values = {
        "name": f"Store {n}",
        "external_id": f"STORE{n}",
        "street_name": "Av. Corrientes",
        "street_number": "1234",
        "city": "CABA",
        "state": "Buenos Aires",
        "latitude": Decimal("-34.603722"),
        "longitude": Decimal("-58.381592"),
        **fields,
    }
    with tenant_scope(tenant):
        return Store.objects.create(tenant=tenant, **values)


def make_pos(tenant: Tenant, store: Store | None = None, **fields) -> PointOfSale:
    """A point of sale saved locally only (pending sync)."""
    n = next(_sequence)
    store = store or make_store(tenant)
    values = {"name": f"POS {n}", "external_id": f"POS{n}", **fields}
    with tenant_scope(tenant):
        return PointOfSale.objects.create(tenant=tenant, store=store, **values)


def make_order(tenant: Tenant, pos: PointOfSale | None = None, **fields) -> Order:
    """An order saved locally only (pending), with no call to Mercado Pago."""
    n = next(_sequence)
    pos = pos or make_pos(tenant)
    values = {
        "api": "v1",
        "mode": "dynamic",
        "external_reference": f"order-{n}",
        "title": f"Order {n}",
        "currency": tenant.currency,
        "total_amount": Decimal("100.00"),
        "expires_at": timezone.now() + timedelta(minutes=15),
        "expiration_seconds": 900,
        "create_idempotency_key": f"{tenant.pk}-test-{n}-create",
        **fields,
    }
    with tenant_scope(tenant):
        return Order.objects.create(tenant=tenant, pos=pos, **values)


def _order_item(tenant: Tenant) -> OrderItem:
    with tenant_scope(tenant):
        return OrderItem.objects.create(
            tenant=tenant,
            order=make_order(tenant),
            position=0,
            title="Item",
            unit_price=Decimal("100.00"),
            quantity=1,
        )


def make_payment(tenant: Tenant, order: Order | None = None, **fields) -> Payment:
    order = order or make_order(tenant, status="processed")
    values = {
        "mp_payment_id": f"PAY{next(_sequence):026d}",
        "amount": order.total_amount,
        "paid_amount": order.total_amount,
        "status": "processed",
        **fields,
    }
    with tenant_scope(tenant):
        return Payment.objects.create(tenant=tenant, order=order, **values)


def make_refund(tenant: Tenant) -> Refund:
    """A pending refund of 1.00 of a new paid order's payment."""
    payment = make_payment(tenant)
    with tenant_scope(tenant):
        return Refund.objects.create(
            tenant=tenant, order=payment.order, payment=payment, amount=Decimal("1.00")
        )


def make_dispute(tenant: Tenant, payment: Payment | None = None, **fields) -> Dispute:
    """An open dispute (chargeback) of a payment of ``tenant``, due in 10 days."""
    payment = payment or make_payment(tenant)
    values = {
        "mp_chargeback_id": f"cb{next(_sequence):016d}",
        "mp_payment_id": payment.reference_id or payment.mp_payment_id,
        "amount": payment.paid_amount,
        "currency": payment.order.currency,
        "status": Dispute.Status.OPENED,
        "documentation_required": True,
        "documentation_status": "pending",
        "deadline": timezone.now() + timedelta(days=10),
        **fields,
    }
    with tenant_scope(tenant):
        return Dispute.objects.create(tenant=tenant, payment=payment, order=payment.order, **values)


def _call(tenant: Tenant) -> MercadoPagoCall:
    with tenant_scope(tenant):
        return MercadoPagoCall.objects.create(
            tenant=tenant, method="GET", path="/v1/orders/ORD1", status=200, duration_ms=1
        )


def make_grant(
    tenant: Tenant, requested: frozenset[str] = frozenset({"orders:read"})
) -> PartnerGrant:
    """A client-credentials app installed on ``tenant``: its grant."""
    application, _secret = install_application(
        tenant=tenant, name=f"App {next(_sequence)}", requested=requested, user=None
    )
    with tenant_scope(tenant):
        return PartnerGrant.objects.get(application=application)


def _granted_code(tenant: Tenant) -> GrantedCode:
    grant = make_grant(tenant)
    code = Grant.objects.create(
        application=grant.application,
        user=make_user(),
        code=f"code-{next(_sequence)}",
        expires=timezone.now() + timedelta(minutes=1),
        redirect_uri="https://partner.example.com/callback",
        scope=grant.scope,
    )
    with tenant_scope(tenant):
        return GrantedCode.objects.create(tenant=tenant, code=code, grant=grant)


def _granted_token(tenant: Tenant) -> GrantedToken:
    grant = make_grant(tenant)
    access_token = AccessToken.objects.create(
        application=grant.application,
        token=f"token-{next(_sequence)}",
        expires=timezone.now() + timedelta(hours=1),
        scope=grant.scope,
    )
    with tenant_scope(tenant):
        return GrantedToken.objects.create(tenant=tenant, access_token=access_token, grant=grant)


def _idempotent_request(tenant: Tenant) -> IdempotentRequest:
    with tenant_scope(tenant):
        return IdempotentRequest.objects.create(
            tenant=tenant, client="app:1", key=f"key-{next(_sequence)}", fingerprint="0" * 64
        )


def make_webhook_endpoint(tenant: Tenant, **fields) -> WebhookEndpoint:
    values = {
        "url": "https://partner.example.com/webhooks",
        "events": ["order.processed"],
        "secret": f"whsec_test_{next(_sequence)}",
        **fields,
    }
    with tenant_scope(tenant):
        return WebhookEndpoint.objects.create(tenant=tenant, **values)


def make_event(tenant: Tenant, **fields) -> Event:
    """An event recorded now (``order.created`` about no real order), delivered nowhere."""
    values = {
        "type": "order.created",
        "api_version": "2026-12-06",
        "data": {"order": {"uid": str(uuid.uuid4())}},
        "created_at": timezone.now(),
        **fields,
    }
    with tenant_scope(tenant):
        return Event.objects.create(tenant=tenant, **values)


def make_webhook_delivery(
    tenant: Tenant, endpoint: WebhookEndpoint | None = None
) -> WebhookDelivery:
    endpoint = endpoint or make_webhook_endpoint(tenant)
    with tenant_scope(tenant):
        return WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event_type="webhook.test", payload={}
        )


def _delivery_attempt(tenant: Tenant) -> DeliveryAttempt:
    delivery = make_webhook_delivery(tenant)
    with tenant_scope(tenant):
        return DeliveryAttempt.objects.create(
            tenant=tenant, delivery=delivery, status_code=200, duration_ms=1
        )


def _pos_import(tenant: Tenant) -> PosImport:
    with tenant_scope(tenant):
        return PosImport.objects.create(tenant=tenant, file_name="pos.csv", content="")


def _invitation(tenant: Tenant) -> Invitation:
    """An open invitation, saved directly (``accounts.invitations.invite`` also e-mails it)."""
    now = timezone.now()
    with tenant_scope(tenant):
        return Invitation.objects.create(
            tenant=tenant,
            email=f"invited{next(_sequence)}@example.com",
            role=Role.VIEWER,
            nonce=f"nonce-{next(_sequence)}",
            sent_at=now,
            expires_at=now + timedelta(days=7),
        )


def make_report_file(tenant: Tenant, **fields) -> ReportFile:
    """A downloaded settlement report of ``tenant`` for the last day, with no lines yet."""
    now = timezone.now()
    values = {
        "kind": ReportKind.SETTLEMENT,
        "file_name": f"settlement-report-{next(_sequence)}.csv",
        "begin_date": now - timedelta(days=1),
        "end_date": now,
        "status": ReportFile.Status.DOWNLOADED,
        **fields,
    }
    with tenant_scope(tenant):
        return ReportFile.objects.create(tenant=tenant, **values)


def make_report_line(tenant: Tenant, report: ReportFile | None = None, **fields) -> ReportLine:
    """A SETTLEMENT line of 100.00 in a report of ``tenant``."""
    report = report or make_report_file(tenant)
    with tenant_scope(tenant):
        number = report.lines.count() + 1
    values = {
        "number": number,
        "kind": "SETTLEMENT",
        "source_id": str(next(_sequence)),
        "currency": "ARS",
        "gross_amount": Decimal("100.00"),
        "date": report.end_date,
        **fields,
    }
    with tenant_scope(tenant):
        return ReportLine.objects.create(tenant=tenant, report=report, **values)


def _mismatch(tenant: Tenant) -> Mismatch:
    line = make_report_line(tenant)
    with tenant_scope(tenant):
        return Mismatch.objects.create(
            tenant=tenant,
            report=line.report,
            line=line,
            kind=Mismatch.Kind.UNKNOWN_PAYMENT,
            found=line.gross_amount,
        )


TENANT_OWNED_FACTORIES: dict[type[Model], Callable[[Tenant], Model]] = {
    Invitation: _invitation,
    Membership: _membership,
    MercadoPagoCredential: _credential,
    Store: make_store,
    PointOfSale: make_pos,
    Order: make_order,
    OrderItem: _order_item,
    Payment: make_payment,
    Refund: make_refund,
    MercadoPagoCall: _call,
    PartnerGrant: make_grant,
    GrantedCode: _granted_code,
    GrantedToken: _granted_token,
    IdempotentRequest: _idempotent_request,
    WebhookEndpoint: make_webhook_endpoint,
    Event: make_event,
    WebhookDelivery: make_webhook_delivery,
    DeliveryAttempt: _delivery_attempt,
    PosImport: _pos_import,
    Dispute: make_dispute,
    ReportFile: make_report_file,
    ReportLine: make_report_line,
    Mismatch: _mismatch,
}
