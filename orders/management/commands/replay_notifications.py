"""``python manage.py replay_notifications [--id N ...] [--status STATUS] [--all-failed]``."""

from django.core.management.base import BaseCommand, CommandError

from orders import notifications
from orders.models import Notification

REJECTED = Notification.Status.REJECTED
REPLAYABLE = [status for status in Notification.Status.values if status != REJECTED]


class Command(BaseCommand):
    help = (
        "Queue Mercado Pago notifications of the inbox for processing again: by id, by status, "
        "or every failed one. Rejected notifications (bad signature) are never replayed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--id",
            dest="ids",
            type=int,
            nargs="+",
            action="extend",
            default=[],
            metavar="N",
            help="a notification's id (repeat it, or list several)",
        )
        parser.add_argument(
            "--status", help=f"every notification of this status: {', '.join(REPLAYABLE)}"
        )
        parser.add_argument(
            "--all-failed", action="store_true", help="every failed notification (--status failed)"
        )

    def handle(self, *args, ids, status, all_failed, **options):
        if all_failed:
            if status not in (None, Notification.Status.FAILED):
                raise CommandError("--all-failed means --status failed: give one of them.")
            status = Notification.Status.FAILED
        if status == REJECTED:
            raise CommandError(
                "Rejected notifications are never replayed: their signature did not hold."
            )
        if status is not None and status not in REPLAYABLE:
            raise CommandError(f"Unknown status {status!r}: use one of {', '.join(REPLAYABLE)}.")
        if not ids and status is None:
            raise CommandError("Name the notifications to replay: --id N, --status, --all-failed.")
        if ids:
            named = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "status"))
            missing = sorted(set(ids) - set(named))
            if missing:
                self.stderr.write(f"No notification {', '.join(map(str, missing))}.")
            rejected = sorted(pk for pk, row_status in named.items() if row_status == REJECTED)
            if rejected:
                self.stderr.write(
                    f"Not replaying rejected notification(s) {', '.join(map(str, rejected))}: "
                    "their signature did not hold."
                )
        queued = notifications.replay(ids=ids, status=status)
        self.stdout.write(f"Queued {queued} notification(s) for processing.")
