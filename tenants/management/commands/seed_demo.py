"""Create the demo integrator and sellers; running it again changes nothing.

When the built-in sandbox stands in for Mercado Pago, each demo seller is also connected by OAuth
to the sandbox's test seller of its site, with one store and one point of sale synced there, so
that the cashier page, the display page and the sandbox wallet work at once. The command reaches
the sandbox in-process: the server is not up yet while it runs.
"""

from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from merchant_platform.mercadopago import get_config, in_process_transport
from pos import services as pos_services
from pos.models import PointOfSale, Store
from tenants import oauth, services
from tenants.models import MercadoPagoCredential, Tenant, User
from tenants.roles import Role
from tenants.scope import tenant_scope
from tenants.sites import Site

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 (demo accounts on a local, embedded platform)

DEMO_SELLERS = [
    {
        "slug": "parrilla-del-puerto",
        "name": "Parrilla del Puerto",
        "site": Site.MLA,
        "fee_percent": Decimal("1.50"),
        "members": [("owner.ar", Role.OWNER), ("cashier.ar", Role.CASHIER)],
        "sandbox_seller": 100000001,  # the sandbox's test seller of MLA (docs/sandbox.md)
        "store": {
            "name": "Parrilla del Puerto - Costanera",
            "external_id": "PARRILLA1",
            "street_name": "Av. Costanera Rafael Obligado",
            "street_number": "1221",
            "city": "Buenos Aires",
            "state": "Capital Federal",
            "latitude": Decimal("-34.565030"),
            "longitude": Decimal("-58.407210"),
        },
        "pos": {"name": "Caja 1", "external_id": "PARRILLA1CAJA1", "category": 621102},
    },
    {
        "slug": "padaria-bom-dia",
        "name": "Padaria Bom Dia",
        "site": Site.MLB,
        "fee_percent": Decimal("2.00"),
        "fee_cap": Decimal("5.00"),
        "members": [("owner.br", Role.OWNER), ("cashier.br", Role.CASHIER)],
        "sandbox_seller": 100000002,  # the sandbox's test seller of MLB
        "store": {
            "name": "Padaria Bom Dia - Pinheiros",
            "external_id": "PADARIA1",
            "street_name": "Rua dos Pinheiros",
            "street_number": "870",
            "city": "Sao Paulo",
            "state": "SP",
            "latitude": Decimal("-23.563410"),
            "longitude": Decimal("-46.683800"),
        },
        "pos": {"name": "Caixa 1", "external_id": "PADARIA1CAIXA1", "category": 5611203},
    },
]


class Command(BaseCommand):
    help = (
        "Create the demo integrator superuser and two sellers with owners and cashiers; with the "
        "sandbox, connect them and give each a synced store and point of sale."
    )

    def handle(self, *args, **options):
        created = _seed_accounts()
        if get_config().uses_sandbox:
            with override_settings(
                MERCADOPAGO_HTTP_TRANSPORT="merchant_platform.mercadopago.in_process_transport"
            ):
                for seller in DEMO_SELLERS:
                    created += _connect_and_equip(seller)
        else:
            self.stdout.write("Mercado Pago is not the sandbox: connect the sellers in the admin.")
        if created:
            self.stdout.write(f"Demo data created: {', '.join(created)}.")
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(
            f"Demo logins (password {DEMO_PASSWORD}): admin (integrator), "
            "owner.ar and cashier.ar (Argentina), owner.br and cashier.br (Brazil)."
        )
        for display_url in _display_urls():
            self.stdout.write(f"Customer display: {display_url}")


@transaction.atomic
def _seed_accounts() -> list[str]:
    created = []
    admin, was_created = _get_or_create_user("admin", superuser=True)
    if was_created:
        created.append(admin.username)
    for seller in DEMO_SELLERS:
        tenant = Tenant.objects.filter(slug=seller["slug"]).first()
        if tenant is None:
            tenant = services.create_tenant(
                name=seller["name"], site=seller["site"], slug=seller["slug"]
            )
            tenant.fee_percent = seller["fee_percent"]
            tenant.fee_cap = seller.get("fee_cap")
            tenant.save(update_fields=["fee_percent", "fee_cap"])
            created.append(tenant.name)
        for username, role in seller["members"]:
            user, was_created = _get_or_create_user(username)
            if was_created:
                services.add_member(tenant=tenant, user=user, role=role)
                created.append(username)
    return created


def _connect_and_equip(seller: dict) -> list[str]:
    """Connect the demo seller to its sandbox seller and sync its store and POS, where missing.

    No transaction is open here: each step calls the (in-process) sandbox.
    """
    created = []
    tenant = Tenant.objects.get(slug=seller["slug"])
    with tenant_scope(tenant):
        connected = MercadoPagoCredential.objects.exists()
        store = Store.objects.filter(external_id=seller["store"]["external_id"]).first()
        has_pos = PointOfSale.objects.filter(external_id=seller["pos"]["external_id"]).exists()
    if not connected:
        _connect_by_oauth(tenant, seller["sandbox_seller"])
        created.append(f"{tenant.name}'s Mercado Pago connection")
    if store is None:
        store = pos_services.create_store(tenant=tenant, **seller["store"])
        created.append(store.name)
    if not has_pos:
        pos = pos_services.create_pos(tenant=tenant, store=store, **seller["pos"])
        created.append(f"{pos.name} ({store.name})")
    return created


def _connect_by_oauth(tenant: Tenant, sandbox_user_id: int) -> None:
    """The OAuth connection a seller's owner makes from the connect page, with the sandbox's
    consent given for ``sandbox_user_id`` through its control API instead of its sign-in page."""
    pending, url = oauth.begin_authorization(tenant=tenant)
    consent = dict(parse_qsl(urlsplit(url).query)) | {"user_id": str(sandbox_user_id)}
    with httpx.Client(transport=in_process_transport(), base_url=settings.SITE_URL) as sandbox:
        answer = sandbox.post("/sandbox/_control/oauth/authorize", json=consent)
    answer.raise_for_status()
    oauth.complete_authorization(
        tenant=tenant, pending=pending, state=pending.state, code=answer.json()["code"]
    )


def _display_urls() -> list[str]:
    """The customer display of each demo POS."""
    urls = []
    for seller in DEMO_SELLERS:
        tenant = Tenant.objects.get(slug=seller["slug"])
        with tenant_scope(tenant):
            pos = PointOfSale.objects.filter(external_id=seller["pos"]["external_id"]).first()
        if pos is not None:
            page = reverse("display:page", args=[pos.display_token])
            urls.append(f"{settings.SITE_URL}{page} ({tenant.name})")
    return urls


def _get_or_create_user(username: str, *, superuser: bool = False) -> tuple[User, bool]:
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    user = User(
        username=username,
        email=f"{username}@demo.example",
        is_staff=superuser,
        is_superuser=superuser,
        is_platform_staff=superuser,
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user, True
