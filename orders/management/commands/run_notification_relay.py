"""``python manage.py run_notification_relay [--poll SECONDS] [--batch N]``."""

from django.conf import settings
from django.core.management.base import BaseCommand

from orders import relay


class Command(BaseCommand):
    help = (
        "Publish the tasks of the Mercado Pago notifications the webhook view stored (with "
        "NOTIFICATIONS_RELAY on), woken by PostgreSQL's NOTIFY or every --poll seconds. Run one "
        "or more: each row goes to one relay. SIGTERM may stop it at any point: a batch it did "
        "not commit is published again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll",
            type=float,
            default=settings.NOTIFICATIONS_RELAY_POLL,
            help="seconds between looks when nothing wakes it (default NOTIFICATIONS_RELAY_POLL)",
        )
        parser.add_argument("--batch", type=int, default=relay.BATCH, help="rows per transaction")
        parser.add_argument(
            "--gather",
            type=float,
            default=relay.GATHER,
            help="seconds between two passes that find rows (batches under load)",
        )

    def handle(self, *args, poll, batch, gather, **options):
        if not settings.NOTIFICATIONS_RELAY:
            self.stderr.write(
                "NOTIFICATIONS_RELAY is off: the webhook view publishes the tasks itself, and "
                "this relay only finds rows handed back to it."
            )
        relay.run(poll=poll, batch=batch, gather=gather)
