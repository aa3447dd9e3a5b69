"""Every admin page follows the member's role, checked against the table below (written here, not
derived from the code): each registered ModelAdmin, for each role, its list, add, change and
delete pages and its actions; the admin index; and platform staff across tenants.

A ModelAdmin registered later fails ``test_each_admin_page_follows_the_role`` until it is in
``EXPECTED``.
"""

from datetime import timedelta
from typing import NamedTuple

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken, get_application_model

from accounts.models import Invitation
from disputes.models import Dispute
from orders.models import Notification, Order
from partners.models import (
    GrantedCode,
    GrantedToken,
    IdempotentRequest,
    PartnerGrant,
    WebhookDelivery,
    WebhookEndpoint,
)
from pos.models import PointOfSale, Store
from reports.models import Mismatch, ReportFile
from tenants.admin_mixins import TenantAdminMixin
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Role
from tests.factories import (
    TENANT_OWNED_FACTORIES,
    make_connected_tenant,
    make_grant,
    make_member,
    make_order,
    make_pos,
    make_store,
    make_tenant,
    make_user,
    make_webhook_delivery,
    make_webhook_endpoint,
)
from tests.orders.conftest import reload, synced_pos
from tests.orders.test_refunds import paid_order
from tests.orders.test_webhooks import new_order

pytestmark = pytest.mark.django_db

Application = get_application_model()

ROLES = (Role.OWNER, Role.MANAGER, Role.CASHIER, Role.VIEWER)
EDIT, VIEW = "edit", "view"  # the change page: a form to save, or the row read-only


class Pages(NamedTuple):
    """What a member gets: the status of the list, add, change and delete pages (the change page
    as EDIT, VIEW or 403) and the actions offered on the list (None: no list)."""

    changelist: int
    add: int
    change: int | str
    delete: int
    actions: frozenset[str] | None


def pages(changelist, add, change, delete, *actions: str) -> Pages:
    """A row of the table; ``actions`` are the ones offered (none where there is no list)."""
    return Pages(changelist, add, change, delete, None if changelist != 200 else frozenset(actions))


DENIED = pages(403, 403, 403, 403)  # not even listed in the index
READS = pages(200, 403, VIEW, 403)  # looks, changes nothing
MANAGES_STORES = pages(200, 200, EDIT, 200, "delete_selected", "resync")
MANAGES_POS = pages(200, 200, EDIT, 200, "delete_selected", "resync", "rotate_display_link")

# Every registered ModelAdmin: what each role gets, in the order owner, manager, cashier, viewer.
EXPECTED: dict[str, tuple[Pages, Pages, Pages, Pages]] = {
    # The platform's own: members never see them (partner apps are the PartnerGrant admin's).
    "auth.Group": (DENIED, DENIED, DENIED, DENIED),
    "tenants.User": (DENIED, DENIED, DENIED, DENIED),
    "oauth2_provider.Application": (DENIED, DENIED, DENIED, DENIED),
    "oauth2_provider.AccessToken": (DENIED, DENIED, DENIED, DENIED),
    "oauth2_provider.Grant": (DENIED, DENIED, DENIED, DENIED),
    "oauth2_provider.IDToken": (DENIED, DENIED, DENIED, DENIED),
    "oauth2_provider.RefreshToken": (DENIED, DENIED, DENIED, DENIED),
    # Their own seller, read-only; only owners change the members; only owners see credentials
    # (connecting is the connect page's, deleting disconnects).
    "tenants.Tenant": (READS, READS, READS, READS),
    "tenants.Membership": (pages(200, 403, EDIT, 200, "delete_selected"), READS, READS, READS),
    # People join by invitation: owners invite, resend and revoke; nobody edits one.
    "accounts.Invitation": (pages(200, 200, VIEW, 403, "resend", "revoke"),) + (DENIED,) * 3,
    "tenants.MercadoPagoCredential": (pages(200, 403, VIEW, 200, "delete_selected"),)
    + (DENIED,) * 3,
    # Stores and POS: owners and managers manage them.
    "pos.Store": (MANAGES_STORES, MANAGES_STORES, READS, READS),
    "pos.PointOfSale": (MANAGES_POS, MANAGES_POS, READS, READS),
    # Orders change only through actions: cashiers cancel (refunds: test below); refreshing from
    # Mercado Pago only reads its state, so viewers may do it too.
    "orders.Order": (
        pages(200, 403, VIEW, 403, "cancel", "refresh"),
        pages(200, 403, VIEW, 403, "cancel", "refresh"),
        pages(200, 403, VIEW, 403, "cancel", "refresh"),
        READS,  # a viewer is offered no action
    ),
    # Integrations: owners and managers replay, revoke and install; nobody edits them here.
    "orders.Notification": (pages(200, 403, VIEW, 403, "replay"),) * 2 + (READS,) * 2,
    "partners.PartnerGrant": (pages(200, 200, VIEW, 403, "revoke"),) * 2 + (READS,) * 2,
    "partners.WebhookEndpoint": (READS, READS, READS, READS),
    "partners.WebhookDelivery": (READS, READS, READS, READS),
    # Idempotency-Keys: owners and managers release stuck ones (docs/operations.md).
    "partners.IdempotentRequest": (pages(200, 403, VIEW, 403, "release"),) * 2 + (READS,) * 2,
    # Disputes: only Mercado Pago changes them; every member reads them.
    "disputes.Dispute": (READS, READS, READS, READS),
    # Reports and their mismatches show the seller's money: owners and managers read them and
    # ask for a refresh from Mercado Pago; only services write them.
    "reports.ReportFile": (READS, READS, DENIED, DENIED),
    "reports.Mismatch": (pages(200, 403, VIEW, 403, "refresh"),) * 2 + (DENIED,) * 2,
}
# The fields of a row that no page may ever show.
SECRETS = {MercadoPagoCredential: "access_token", WebhookEndpoint: "secret"}


def _inbox_row(tenant: Tenant) -> Notification:
    return Notification.objects.create(tenant=tenant, kind="webhook", topic="order")


def _application(tenant: Tenant):
    return make_grant(tenant).application


def _access_token(tenant: Tenant) -> AccessToken:
    return TENANT_OWNED_FACTORIES[GrantedToken](tenant).access_token


def _id_token(tenant: Tenant) -> IDToken:
    expires = timezone.now() + timedelta(hours=1)
    return IDToken.objects.create(application=_application(tenant), expires=expires)


def _refresh_token(tenant: Tenant) -> RefreshToken:
    access_token = _access_token(tenant)
    return RefreshToken.objects.create(
        user=make_user(), token=f"refresh-{access_token.pk}", application=access_token.application
    )


# One row of the tenant for each registered model (the tenant itself for Tenant).
ROW = {
    Group: lambda tenant: Group.objects.create(name=f"Group of {tenant.slug}"),
    User: lambda tenant: make_user(),
    Application: _application,
    AccessToken: _access_token,
    Grant: lambda tenant: TENANT_OWNED_FACTORIES[GrantedCode](tenant).code,
    IDToken: _id_token,
    RefreshToken: _refresh_token,
    Tenant: lambda tenant: tenant,
    Membership: TENANT_OWNED_FACTORIES[Membership],  # a viewer's: an owner may remove it
    Invitation: TENANT_OWNED_FACTORIES[Invitation],
    MercadoPagoCredential: TENANT_OWNED_FACTORIES[MercadoPagoCredential],
    Store: make_store,
    PointOfSale: make_pos,
    Order: make_order,
    Notification: _inbox_row,
    PartnerGrant: make_grant,
    WebhookEndpoint: make_webhook_endpoint,
    WebhookDelivery: make_webhook_delivery,
    IdempotentRequest: TENANT_OWNED_FACTORIES[IdempotentRequest],
    Dispute: TENANT_OWNED_FACTORIES[Dispute],
    ReportFile: TENANT_OWNED_FACTORIES[ReportFile],
    Mismatch: TENANT_OWNED_FACTORIES[Mismatch],
}
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
TENANT_OWNED = [m for m in REGISTERED if isinstance(admin.site._registry[m], TenantAdminMixin)]


def _label(model) -> str:
    return model._meta.label


def _url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_page(response) -> int | str:
    if response.status_code != 200:
        return response.status_code
    return EDIT if 'name="_save"' in response.text else VIEW


def _actions(response) -> frozenset[str] | None:
    if response.status_code != 200:
        return None
    form = response.context["action_form"]  # None when no action is offered
    choices = form.fields["action"].choices if form is not None else []
    return frozenset(name for name, _description in choices if name)


def _filters(response) -> list[str]:
    return [getattr(spec, "field_path", spec.title) for spec in response.context["cl"].filter_specs]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_each_admin_page_follows_the_role(model, role):
    if model._meta.label not in EXPECTED:
        pytest.fail(f"{model._meta.label} has an admin: say in EXPECTED what each role gets")
    expected = EXPECTED[model._meta.label][ROLES.index(role)]
    tenant, elsewhere = make_tenant(), make_tenant()
    row, foreign = ROW[model](tenant), ROW[model](elsewhere)
    client = _signed_in(make_member(tenant, role))

    changelist = client.get(_url(model, "changelist"))
    change = client.get(_url(model, "change", row.pk))
    got = Pages(
        changelist=changelist.status_code,
        add=client.get(_url(model, "add")).status_code,
        change=_change_page(change),
        delete=client.get(_url(model, "delete", row.pk)).status_code,
        actions=_actions(changelist),
    )

    assert got == expected
    if expected.change == VIEW:  # saving is refused, not only left out of the page
        assert client.post(_url(model, "change", row.pk), {}).status_code == 403
    if expected.changelist == 200:
        listed = [shown.pk for shown in changelist.context["cl"].result_list]
        assert row.pk in listed
        assert foreign.pk not in listed
    if model in SECRETS:
        secret = getattr(row, SECRETS[model])
        assert secret not in changelist.text + change.text
    if model is MercadoPagoCredential and expected.change == VIEW:  # the owner: a masked tail
        assert f'<div class="readonly">…{row.access_token_tail}</div>' in change.text


@pytest.mark.parametrize("role", ROLES)
def test_the_index_lists_exactly_the_models_the_role_may_see(role):
    tenant = make_tenant()
    index = _signed_in(make_member(tenant, role)).get(reverse("admin:index"))
    listed = {
        f"{app['app_label']}.{model['object_name']}"
        for app in index.context["app_list"]
        for model in app["models"]
    }
    seen = {label for label, by_role in EXPECTED.items() if by_role[ROLES.index(role)] != DENIED}
    assert listed == seen


@pytest.mark.parametrize("staff", ["superuser", "platform staff"])
@pytest.mark.parametrize("model", TENANT_OWNED, ids=_label)
def test_platform_staff_see_every_tenant_with_a_tenant_filter_and_search(model, staff):
    ours, theirs = make_tenant("Quokka Bakery"), make_tenant("Zorro Hardware")
    for tenant in (ours, theirs):
        ROW[model](tenant)
    if staff == "superuser":
        user = make_user(is_staff=True, is_superuser=True)
    else:  # the integrator's staff, with Django's permission to view the model
        user = make_user(is_staff=True, is_platform_staff=True)
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label=model._meta.app_label,
                codename=f"view_{model._meta.model_name}",
            )
        )
    client = _signed_in(user)

    def listed(**query) -> set[int]:
        response = client.get(_url(model, "changelist"), query)
        assert response.status_code == 200
        assert "tenant" in _filters(response)
        return {shown.tenant_id for shown in response.context["cl"].result_list}

    assert listed() == {ours.pk, theirs.pk}
    assert listed(tenant__id__exact=theirs.pk) == {theirs.pk}
    assert listed(q="Zorro") == {theirs.pk}


CANCEL_AND_REFUND = [
    (Role.OWNER, "canceled", 200),
    (Role.MANAGER, "canceled", 200),
    (Role.CASHIER, "canceled", 403),
    (Role.VIEWER, "created", 403),
]


@pytest.mark.usefixtures("eager_celery")
@pytest.mark.parametrize(("role", "after_cancel", "refund_page"), CANCEL_AND_REFUND)
def test_cashiers_cancel_orders_and_only_owners_and_managers_refund(
    role, after_cancel, refund_page
):
    seller = make_connected_tenant("Parrilla", site="MLA")
    pos = synced_pos(seller)
    paid = paid_order(seller, pos, Client(), "v1", reference="PAID-1")
    order = new_order(seller, pos)
    client = _signed_in(make_member(seller, role))
    refund = reverse("admin:orders_order_refund", args=[paid.pk])

    buttons = client.get(_url(Order, "change", order.pk)).text
    assert ('value="cancel"' in buttons) == (after_cancel == "canceled")
    assert (refund in client.get(_url(Order, "change", paid.pk)).text) == (refund_page == 200)
    assert client.get(refund).status_code == refund_page
    if refund_page == 403:
        confirmed = {"confirm": "yes", "amount": "1.00", "seen_refundable": "100.00"}
        assert client.post(refund, confirmed).status_code == 403
    client.post(_url(Order, "changelist"), {"action": "cancel", "_selected_action": [order.pk]})
    assert reload(order).status == after_cancel


def _row_as_stored(model, pk: int) -> dict | None:
    return model._base_manager.filter(pk=pk).values().first()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", TENANT_OWNED, ids=_label)
def test_no_admin_page_or_action_reaches_another_sellers_row(model, role):
    """A member of one seller asks for another seller's row by URL, and posts every action it is
    offered with that row selected: never shown, never changed."""
    tenant, elsewhere = make_tenant(), make_tenant()
    ROW[model](tenant)
    foreign = ROW[model](elsewhere)
    stored = _row_as_stored(model, foreign.pk)
    client = _signed_in(make_member(tenant, role))
    urls = [_url(model, page, foreign.pk) for page in ("change", "delete", "history")]
    if model is Order:
        urls.append(reverse("admin:orders_order_refund", args=[foreign.pk]))

    for url in urls:
        for answer in (client.get(url), client.post(url, {"post": "yes", "amount": "1.00"})):
            assert answer.status_code in (302, 403), (url, answer.status_code)
            if answer.status_code == 302:  # "… with ID … doesn't exist", to the admin's index
                assert answer.url == reverse("admin:index")
    for action in _actions(client.get(_url(model, "changelist"))) or ():
        client.post(
            _url(model, "changelist"),
            {"action": action, "_selected_action": [foreign.pk], "post": "yes"},
        )

    assert _row_as_stored(model, foreign.pk) == stored
