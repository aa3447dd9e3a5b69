"""Send the sandbox's notifications whose attempt has come due, once or every few seconds."""

import time

from django.core.management.base import BaseCommand

from sandbox import notifier


class Command(BaseCommand):
    help = "Send the sandbox's due notifications (webhooks and IPN): first tries and retries."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Keep running, looking for due notifications every SECONDS (default: once).",
        )

    def handle(self, *args, every: float, **options):
        while True:
            attempts = notifier.deliver_due()
            delivered = sum(
                attempt.status_code in notifier.DELIVERED_STATUSES for attempt in attempts
            )
            if attempts or not every:
                self.stdout.write(f"{len(attempts)} attempts, {delivered} delivered")
            if not every:
                return
            time.sleep(every)
