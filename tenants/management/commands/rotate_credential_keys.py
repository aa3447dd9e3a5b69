from django.core.management.base import BaseCommand

from tenants.services import reencrypt_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every seller's Mercado Pago tokens with the newest key of "
        "MERCADOPAGO_CREDENTIAL_KEYS, so that older keys can then be removed."
    )

    def handle(self, *args, **options):
        count = reencrypt_credentials()
        self.stdout.write(f"Re-encrypted {count} Mercado Pago credential(s) with the newest key.")
