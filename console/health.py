"""Operations health for people: the figures ``/metrics`` exports (read by the same functions of
``merchant_platform.metrics``), plus partner deliveries in retry and stuck Idempotency-Keys, each
with a plain status (ok / attention) and the admin page where it is acted on.

Call ``health`` inside ``cross_tenant_scope()``.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from numbers import Number

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from merchant_platform import metrics
from orders.models import Notification
from partners import idempotency
from partners.models import WebhookDelivery

logger = logging.getLogger(__name__)

OK, ATTENTION = "ok", "attention"
QUEUE_BACKLOG = 1000  # tasks waiting in one queue before it needs a look
LATE_BEAT_FACTOR = 2  # a schedule is late after twice its interval without a run


@dataclass(frozen=True)
class Line:
    """One figure of a check: what it counts and its value as shown."""

    label: str
    value: str


@dataclass(frozen=True)
class Check:
    """One thing to watch: its figures, whether it needs attention and why, and where to act."""

    key: str
    title: str
    status: str
    summary: str
    lines: list[Line] = field(default_factory=list)
    action_url: str = ""
    action_label: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.status == ATTENTION


def _changelist(name: str, query: str) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{query}"


def _age(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    return _("%(s)d s") % {"s": seconds}


def notifications_check(figures: metrics.NotificationFigures, now: datetime) -> list[Check]:
    """Failed notifications, and how long the oldest unprocessed one has waited."""
    labels = dict(Notification.Status.choices)
    lines = [Line(str(labels[state]), str(count)) for state, count in figures.by_state.items()]
    failed = figures.by_state.get(Notification.Status.FAILED, 0)
    age = figures.oldest_unprocessed_age(now)
    stuck_after = settings.NOTIFICATIONS_STUCK_AFTER
    return [
        Check(
            "notifications",
            _("Mercado Pago notifications"),
            ATTENTION if failed else OK,
            ngettext(
                "%(n)d failed: open it, read the error and replay it.",
                "%(n)d failed: open them, read the error and replay them.",
                failed,
            )
            % {"n": failed}
            if failed
            else _("None failed."),
            lines,
            _changelist("orders_notification", "status__exact=failed"),
            _("Failed notifications (replay)"),
        ),
        Check(
            "oldest-unprocessed",
            _("Oldest unprocessed notification"),
            ATTENTION if age > stuck_after else OK,
            _("Waiting for %(age)s: longer than the sweeper's %(limit)s.")
            % {"age": _age(age), "limit": _age(stuck_after)}
            if age > stuck_after
            else (
                _("Waiting for %(age)s.") % {"age": _age(age)}
                if figures.oldest_unprocessed
                else _("Every notification has been processed.")
            ),
            [Line(_("Age"), _age(age))],
            _changelist("orders_notification", "status__in=received,queued,failed"),
            _("Unprocessed notifications"),
        ),
    ]


def queues_check() -> Check:
    """The Celery queues' lengths in the broker, or that tasks run in-process."""
    title = _("Task queues")
    try:
        lengths = metrics.queue_lengths()
    except Exception:
        logger.exception("health: the broker did not answer")
        return Check("queues", title, ATTENTION, _("The broker did not answer."))
    if lengths is None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            summary = _("No broker: tasks run in-process, nothing waits in a queue.")
        else:
            summary = _("The broker is not Redis: its queues are not read here.")
        return Check("queues", title, OK, summary)
    backlog = [queue for queue, length in lengths.items() if length > QUEUE_BACKLOG]
    return Check(
        "queues",
        title,
        ATTENTION if backlog else OK,
        _("More than %(n)d tasks wait in: %(queues)s. Are the workers running?")
        % {"n": QUEUE_BACKLOG, "queues": ", ".join(backlog)}
        if backlog
        else _("The workers keep up."),
        [Line(queue, str(length)) for queue, length in lengths.items()],
    )


def _interval(schedule) -> timedelta | None:
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, Number):
        return timedelta(seconds=float(schedule))
    return getattr(schedule, "run_every", None)  # celery.schedule; a crontab has none


def beat_check(now: datetime) -> Check:
    """When beat last sent each schedule's task, and the schedules that are late."""
    title = _("Periodic tasks (beat)")
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Check("beat", title, OK, _("No broker: beat does not run under make run."))
    try:
        runs = metrics.beat_last_runs()
    except Exception:
        logger.exception("health: beat's record could not be read")
        return Check("beat", title, ATTENTION, _("Beat's record could not be read."))
    lines, late = [], []
    for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items()):
        ran_at, interval = runs.get(name), _interval(entry.get("schedule"))
        if ran_at is None:
            late.append(name)
            lines.append(Line(name, _("never")))
            continue
        if interval is not None and now - ran_at > LATE_BEAT_FACTOR * interval:
            late.append(name)
        lines.append(Line(name, _("%(age)s ago") % {"age": _age((now - ran_at).total_seconds())}))
    return Check(
        "beat",
        title,
        ATTENTION if late else OK,
        _("Late or never run: %(names)s. Is beat running?") % {"names": ", ".join(late)}
        if late
        else _("Every schedule runs on time."),
        lines,
    )


def deliveries_checks(by_state: dict[str, int]) -> list[Check]:
    """Partner webhook deliveries per state, those that gave up, and those in retry."""
    labels = dict(WebhookDelivery.Status.choices)
    failed = by_state.get(WebhookDelivery.Status.FAILED, 0)
    retrying = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, attempt_count__gt=0
    ).count()
    return [
        Check(
            "deliveries",
            _("Partner webhook deliveries"),
            ATTENTION if failed else OK,
            ngettext(
                "%(n)d gave up after its last attempt.",
                "%(n)d gave up after their last attempt.",
                failed,
            )
            % {"n": failed}
            if failed
            else _("None gave up."),
            [Line(str(labels[state]), str(count)) for state, count in by_state.items()],
            _changelist("partners_webhookdelivery", "status__exact=failed"),
            _("Failed deliveries"),
        ),
        Check(
            "deliveries-retrying",
            _("Partner deliveries in retry"),
            ATTENTION if retrying else OK,
            ngettext(
                "%(n)d waits for another attempt: its endpoint failed.",
                "%(n)d wait for another attempt: their endpoint failed.",
                retrying,
            )
            % {"n": retrying}
            if retrying
            else _("None is waiting for a retry."),
            [Line(_("In retry"), str(retrying))],
            _changelist("partners_webhookdelivery", "status__exact=pending&attempt_count__gt=0"),
            _("Deliveries in retry"),
        ),
    ]


def idempotency_check(now: datetime) -> Check:
    """Idempotency-Keys whose attempt died without an answer (``partners.idempotency.stuck``)."""
    stuck = idempotency.stuck_keys(now=now).count()
    return Check(
        "idempotency",
        _("Stuck Idempotency-Keys"),
        ATTENTION if stuck else OK,
        ngettext(
            "%(n)d key has no answer and its request died: release it.",
            "%(n)d keys have no answer and their request died: release them.",
            stuck,
        )
        % {"n": stuck}
        if stuck
        else _("No key is stuck."),
        [Line(_("Stuck"), str(stuck))],
        _changelist("partners_idempotentrequest", "state=stuck"),
        _("Stuck keys (release)"),
    )


def health(now: datetime) -> list[Check]:
    """Every check of the health page at ``now``."""
    return [
        *notifications_check(metrics.notification_figures(), now),
        queues_check(),
        beat_check(now),
        *deliveries_checks(metrics.delivery_figures()),
        idempotency_check(now),
    ]
