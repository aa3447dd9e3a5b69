from django.core.management.base import BaseCommand, CommandError

from tenants.services import Undecryptable, reencrypt_encrypted_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every app (sellers' Mercado Pago tokens, partners' "
        "webhook signing secrets, any EncryptedTextField added later), of every seller, with the "
        "newest key of MERCADOPAGO_CREDENTIAL_KEYS, so that older keys can then be removed. "
        "Fails, naming each field and primary key, on a value no configured key decrypts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows re-encrypted per transaction."
        )

    def handle(self, *args, batch_size: int, **options):
        try:
            counts = reencrypt_encrypted_fields(batch_size=batch_size)
        except Undecryptable as error:
            self._report(error.counts)
            raise CommandError(
                f"{error} Those rows were left as they are: add back the key that encrypted "
                "them (anywhere in MERCADOPAGO_CREDENTIAL_KEYS) and run this again. Every other "
                "value was re-encrypted."
            ) from None
        self._report(counts)

    def _report(self, counts: dict[str, int]) -> None:
        for label, count in counts.items():
            self.stdout.write(f"{label}: re-encrypted {count} value(s)")
        self.stdout.write(
            f"Re-encrypted {sum(counts.values())} value(s) in {len(counts)} encrypted field(s) "
            "with the newest key."
        )
