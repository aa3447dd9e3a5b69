"""Register this deployment's Mercado Pago identity as an application of the sandbox.

Staging runs in production mode (``DEBUG`` off) with the sandbox as Mercado Pago
(``SANDBOX_ENABLED=true``, ``MERCADOPAGO_API_BASE_URL=https://<site>/sandbox``). The system
checks then refuse the sandbox's public client and webhook secrets, so the sandbox must know the
deployment's own: this command gives it an application with ``MERCADOPAGO_CLIENT_ID``, its
client and webhook secrets, owned by the integrator ``MERCADOPAGO_SPONSOR_ID``, notifying
``SITE_URL/webhooks/mercadopago/``. Running it again applies changed values (a rotated secret).
``deploy/release.sh`` runs it; it does nothing when the sandbox is off or those settings are
unset (the platform then uses the sandbox's own application). It reads the settings, never the
platform's code: the sandbox imports nothing of the platform (tests/test_boundaries.py).
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from sandbox.models import Account, Application


class Command(BaseCommand):
    help = (
        "Give the sandbox an application with this deployment's Mercado Pago client id, secrets "
        "and sponsor (staging with SANDBOX_ENABLED=true and DEBUG off)."
    )

    def handle(self, *args, **options):
        client_id = settings.MERCADOPAGO_CLIENT_ID
        sponsor_id = settings.MERCADOPAGO_SPONSOR_ID
        if not settings.SANDBOX_ENABLED:
            self.stdout.write("The sandbox is off (SANDBOX_ENABLED): nothing to register.")
            return
        if not (client_id and sponsor_id):
            self.stdout.write("The sandbox's own application is in use: nothing to register.")
            return
        with transaction.atomic():
            sponsor, _ = Account.objects.get_or_create(
                user_id=int(sponsor_id),
                defaults={
                    "nickname": f"INTEGRATOR{sponsor_id}",
                    "kind": Account.Kind.INTEGRATOR,
                    "site_id": "MLA",
                },
            )
            _, created = Application.objects.update_or_create(
                client_id=client_id,
                defaults={
                    "client_secret": settings.MERCADOPAGO_CLIENT_SECRET,
                    "webhook_secret": settings.MERCADOPAGO_WEBHOOK_SECRET,
                    "owner": sponsor,
                    "name": "Merchant platform (staging)",
                    "webhook_url": f"{settings.SITE_URL}/webhooks/mercadopago/",
                },
            )
        verb = "Registered" if created else "Updated"
        self.stdout.write(f"{verb} the sandbox application {client_id}.")
