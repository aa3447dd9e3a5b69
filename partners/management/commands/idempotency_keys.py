from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from partners import idempotency
from tenants.scope import cross_tenant_scope


class Command(BaseCommand):
    help = (
        "List stuck Idempotency-Keys: no answer stored, and claimed longer ago than a request can "
        "run (MERCADOPAGO_REQUEST_BUDGET and a margin), so the attempt that claimed them died. "
        "--clear ends their lease: the partner's next retry with the same key and body takes it "
        "over and finishes the operation (an order its first attempt saved is resumed, never "
        "made twice)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stuck", action="store_true", required=True, help="List the stuck keys."
        )
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Claimed at least this long ago (default: the longest a request runs).",
        )
        parser.add_argument("--tenant", help="Only this seller's keys (its slug).")
        parser.add_argument("--clear", action="store_true", help="End the stuck keys' leases.")

    def handle(self, *args, older_than: int | None, tenant: str | None, clear: bool, **options):
        now = timezone.now()
        window = None if older_than is None else timedelta(seconds=older_than)
        with cross_tenant_scope():
            keys = idempotency.stuck_keys(now=now, older_than=window).select_related("tenant")
            if tenant:
                keys = keys.filter(tenant__slug=tenant)
            keys = list(keys.order_by("created_at"))
            for key in keys:
                held = key.lease_until is not None and key.lease_until > now
                state = f"answers 409 until {key.lease_until:%Y-%m-%d %H:%M:%S}" if held else "free"
                self.stdout.write(
                    f"{key.tenant.slug}\t{key.client}\t{key.key}\tcreated "
                    f"{key.created_at:%Y-%m-%d %H:%M:%S}\tattempt {key.attempt}\t{state}"
                )
            self.stdout.write(f"{len(keys)} stuck key(s).")
            if clear:
                pks = [key.pk for key in keys]
                released = idempotency.release(
                    idempotency.IdempotentRequest.objects.filter(pk__in=pks), now=now
                )
                self.stdout.write(
                    f"Released {released} key(s): a retry with the same key and body takes "
                    "each over now."
                )
