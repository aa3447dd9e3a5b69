"""Create the demo integrator and sellers; running it again changes nothing."""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from tenants import services
from tenants.models import Tenant, User
from tenants.roles import Role
from tenants.sites import Site

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 (demo accounts on a local, embedded platform)

DEMO_SELLERS = [
    {
        "slug": "parrilla-del-puerto",
        "name": "Parrilla del Puerto",
        "site": Site.MLA,
        "fee_percent": Decimal("1.50"),
        "members": [("owner.ar", Role.OWNER), ("cashier.ar", Role.CASHIER)],
    },
    {
        "slug": "padaria-bom-dia",
        "name": "Padaria Bom Dia",
        "site": Site.MLB,
        "fee_percent": Decimal("2.00"),
        "fee_cap": Decimal("5.00"),
        "members": [("owner.br", Role.OWNER), ("cashier.br", Role.CASHIER)],
    },
]


class Command(BaseCommand):
    help = "Create the demo integrator superuser and two sellers with owners and cashiers."

    @transaction.atomic
    def handle(self, *args, **options):
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
        if created:
            self.stdout.write(f"Demo data created: {', '.join(created)}.")
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(
            f"Demo logins (password {DEMO_PASSWORD}): admin (integrator), "
            "owner.ar and cashier.ar (Argentina), owner.br and cashier.br (Brazil)."
        )


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
