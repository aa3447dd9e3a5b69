"""What the integrator's console reads about every seller: its funnel stage, its takings and its
problems (docs/console.md says what each one means).

Every function reads across sellers: call it inside ``cross_tenant_scope()``. The list of sellers
is one queryset (``sellers``) that filters, searches and orders in the database, the funnel
stages being SQL conditions (``stage_conditions``); the figures of the sellers shown, their stage
included, are read by ``rows`` with a fixed number of queries, whatever the number of sellers.

An order counts as *paid* while its status is ``processed`` or ``refunded`` (refunded later: it
was paid), on its ``paid_at``; today and the last 7 days are the seller's own local days
(``orders.dashboard.local_day``: the site's time zone), so a seller in Mexico and one in
Argentina each have their own midnight.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from accounts.models import Invitation
from disputes.models import Dispute
from orders.dashboard import local_day, local_period
from orders.models import Notification, Order, Status
from partners.models import WebhookDelivery
from pos.models import PointOfSale, Store, SyncState
from tenants.models import Membership, MercadoPagoCredential, Tenant
from tenants.roles import Role
from tenants.sites import SITES, Site

PAID_STATUSES = (Status.PROCESSED, Status.REFUNDED)
WEEK_DAYS = 7  # "the last 7 days": today and the 6 days before, in the seller's time zone
PER_PAGE = 50
FAILING_DELIVERY = Q(status=WebhookDelivery.Status.FAILED) | Q(
    status=WebhookDelivery.Status.PENDING, attempt_count__gt=0
)  # given up, or waiting for its next retry after a failed attempt


class Stage(TextChoices):
    """How far a seller has come, from the invitation to taking payments every week."""

    INVITED = "invited", _("Invited (not connected)")
    CONNECTED = "connected", _("Connected (no store)")
    STORE = "store", _("Store (no POS)")
    POS = "pos", _("POS (never paid)")
    FIRST_PAYMENT = "first_payment", _("First payment (none in 7 days)")
    LIVE = "live", _("Live (paid in the last 7 days)")


STAGES = list(Stage)  # in funnel order


class Problem(TextChoices):
    SYNC = "sync", _("Failed syncs")
    NOTIFICATIONS = "notifications", _("Failing notifications")
    DELIVERIES = "deliveries", _("Partner deliveries failing")
    RECONNECT = "reconnect", _("Needs reconnection")
    DISPUTES = "disputes", _("Open disputes")


ORDERINGS = {
    "name": ("name", "pk"),
    "site": ("site", "name", "pk"),
    "created": ("-created_at", "-pk"),
    "last_payment": ("last_payment", "name", "pk"),
}
"""The columns the list orders by (``-`` in front of a key reverses it)."""


@dataclass(frozen=True)
class Window:
    """A site's today and last 7 days at one instant: when each began (UTC)."""

    today: date
    today_start: datetime
    week_start: datetime


def windows(now: datetime) -> dict[str, Window]:
    """Today and the last 7 days of every site at ``now``, each in the site's time zone."""
    found = {}
    for site in Site.values:
        local = Tenant(site=site)  # local_day reads the seller's site alone
        today, today_start, _end = local_day(local, now)
        week_start, _end = local_period(local, today - timedelta(days=WEEK_DAYS - 1), today)
        found[site] = Window(today, today_start, week_start)
    return found


def _by_site(now: datetime, attribute: str) -> Case:
    """The start of the seller's today or week (``attribute`` of its ``Window``) at ``now``."""
    return Case(
        *(
            When(site=site, then=Value(getattr(window, attribute)))
            for site, window in windows(now).items()
        ),
        output_field=DateTimeField(),
    )


def _of_seller(queryset: QuerySet) -> QuerySet:
    return queryset.filter(tenant=OuterRef("pk"))


def stage_conditions() -> dict[Stage, Q]:
    """The one definition of the funnel stages: for each stage, the condition a seller meets
    (over ``Tenant`` rows that carry the ``week_start`` annotation; ``with_week``). They exclude
    one another, so every seller meets exactly one:

    - ``invited``: no Mercado Pago connection (invited, or accepted but never connected);
    - ``connected``: connected, no store;
    - ``store``: a store, no point of sale;
    - ``pos``: a point of sale, never paid;
    - ``first_payment``: an order paid, but none in its last 7 local days;
    - ``live``: an order paid in its last 7 local days.

    A connection that needs reconnecting still counts as one: the seller keeps its stage, and
    the console shows the problem.
    """
    paid = _of_seller(Order.objects.filter(status__in=PAID_STATUSES))
    connected = Q(Exists(_of_seller(MercadoPagoCredential.objects.all())))
    paid_this_week = Q(Exists(paid.filter(paid_at__gte=OuterRef("week_start"))))
    paid_ever = Q(Exists(paid))
    has_pos = Q(Exists(_of_seller(PointOfSale.objects.all())))
    has_store = Q(Exists(_of_seller(Store.objects.all())))
    return {
        Stage.INVITED: ~connected,
        Stage.CONNECTED: connected & ~paid_ever & ~has_pos & ~has_store,
        Stage.STORE: connected & ~paid_ever & ~has_pos & has_store,
        Stage.POS: connected & ~paid_ever & has_pos,
        Stage.FIRST_PAYMENT: connected & paid_ever & ~paid_this_week,
        Stage.LIVE: connected & paid_this_week,
    }


def with_week(sellers: QuerySet[Tenant], now: datetime) -> QuerySet[Tenant]:
    """``sellers`` annotated with ``week_start``: when the last 7 days of each began at ``now``."""
    return sellers.annotate(week_start=_by_site(now, "week_start"))


def stage_position() -> Case:
    """The position in ``STAGES`` of the seller's stage (``stage_conditions``), over ``Tenant``
    rows that carry ``week_start``."""
    return Case(
        *(
            When(condition, then=Value(STAGES.index(stage)))
            for stage, condition in stage_conditions().items()
        ),
        output_field=IntegerField(),
    )


def with_funnel_stage(sellers: QuerySet[Tenant], now: datetime) -> QuerySet[Tenant]:
    """``sellers`` annotated with ``stage_position`` at ``now`` (``STAGES[position]``)."""
    return with_week(sellers, now).annotate(stage_position=stage_position())


def problem_condition(problem: str) -> Q:
    """Sellers with ``problem`` (a ``Problem``), or with any when ``problem`` is ``"any"``."""
    conditions = {
        Problem.SYNC: Q(Exists(_of_seller(Store.objects.filter(sync_state=SyncState.FAILED))))
        | Q(Exists(_of_seller(PointOfSale.objects.filter(sync_state=SyncState.FAILED)))),
        Problem.NOTIFICATIONS: Q(
            Exists(_of_seller(Notification.objects.filter(status=Notification.Status.FAILED)))
        ),
        Problem.DELIVERIES: Q(Exists(_of_seller(WebhookDelivery.objects.filter(FAILING_DELIVERY)))),
        Problem.DISPUTES: Q(
            Exists(_of_seller(Dispute.objects.filter(status=Dispute.Status.OPENED)))
        ),
        Problem.RECONNECT: Q(
            Exists(
                _of_seller(
                    MercadoPagoCredential.objects.filter(
                        status=MercadoPagoCredential.Status.NEEDS_RECONNECT
                    )
                )
            )
        ),
    }
    if problem == "any":
        any_problem = Q()
        for condition in conditions.values():
            any_problem |= condition
        return any_problem
    return conditions[problem]


def search_condition(text: str) -> Q:
    """Sellers whose name or slug contains ``text``, whose Mercado Pago user id is ``text``, or
    with a member (or an open invitation) whose e-mail address contains it."""
    text = text.strip()
    found = Q(name__icontains=text) | Q(slug__icontains=text)
    if text.isdigit():
        found |= Q(mp_user_id=int(text)) | Q(
            Exists(_of_seller(MercadoPagoCredential.objects.filter(mp_user_id=int(text))))
        )
    members = Membership.objects.filter(user__email__icontains=text)
    invited = Invitation.objects.filter(
        email__icontains=text, accepted_at__isnull=True, revoked_at__isnull=True
    )
    return found | Q(Exists(_of_seller(members))) | Q(Exists(_of_seller(invited)))


def sellers(
    now: datetime,
    *,
    stage: str = "",
    site: str = "",
    problem: str = "",
    search: str = "",
    ordering: str = "name",
) -> QuerySet[Tenant]:
    """Every seller (filtered by ``stage``, ``site``, ``problem`` and ``search`` when given),
    ordered by ``ordering`` (a key of ``ORDERINGS``, ``-`` reverses). The stage is a filter
    here (EXISTS conditions, which PostgreSQL joins); ``rows`` reads the stage of the sellers
    shown. Not an order: a CASE of every condition over every seller costs seconds at 10,000."""
    key = ordering.removeprefix("-")
    if key not in ORDERINGS:
        key, ordering = "name", "name"
    queryset = Tenant.objects.all()
    if stage:  # EXISTS in WHERE: joins PostgreSQL plans far cheaper than a CASE per row
        queryset = with_week(queryset, now).filter(stage_conditions()[Stage(stage)])
    if site:
        queryset = queryset.filter(site=site)
    if problem:
        queryset = queryset.filter(problem_condition(problem))
    if search.strip():
        queryset = queryset.filter(search_condition(search))
    if key == "last_payment":
        last = _of_seller(Order.objects.filter(status__in=PAID_STATUSES)).order_by("-paid_at")
        queryset = queryset.annotate(last_payment=Subquery(last.values("paid_at")[:1]))
    reverse = ordering.startswith("-")
    nulls_last = True if key == "last_payment" else None  # never paid: at the end, both ways
    fields = []
    for name in ORDERINGS[key]:
        column = F(name.removeprefix("-"))
        descending = name.startswith("-") != reverse
        fields.append(
            column.desc(nulls_last=nulls_last) if descending else column.asc(nulls_last=nulls_last)
        )
    return queryset.order_by(*fields)


@dataclass
class SellerRow:
    """One seller as the console shows it; amounts in the seller's ``currency``."""

    tenant: Tenant
    stage: str
    currency: str
    owner_email: str = ""
    invited_email: str = ""
    last_payment: datetime | None = None
    today_count: int = 0
    today_volume: Decimal = Decimal(0)
    week_count: int = 0
    week_volume: Decimal = Decimal(0)
    week_fees: Decimal = Decimal(0)
    total_fees: Decimal = Decimal(0)
    failed_stores: int = 0
    failed_pos: int = 0
    failed_notifications: int = 0
    failed_deliveries: int = 0
    retrying_deliveries: int = 0
    open_disputes: int = 0
    needs_reconnect: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


def rows(tenants: Iterable[Tenant], now: datetime) -> list[SellerRow]:
    """The console's row of each of ``tenants`` at ``now``, in their order: eleven grouped queries
    however many sellers there are."""
    tenants = list(tenants)
    if not tenants:
        return []
    ids = [tenant.pk for tenant in tenants]
    # Its own query over these sellers alone: each EXISTS probes an index once per seller, where
    # over the whole list PostgreSQL would hash every paid order.
    stages = dict(
        with_funnel_stage(Tenant.objects.filter(pk__in=ids), now).values_list(
            "pk", "stage_position"
        )
    )
    found = {
        tenant.pk: SellerRow(tenant, STAGES[stages[tenant.pk]], SITES[tenant.site].currency)
        for tenant in tenants
    }
    _read_takings(found, tenants, now)
    _read_people(found, ids)
    _read_problems(found, ids)
    return list(found.values())


def _since(tenants: list[Tenant], now: datetime, attribute: str) -> Q:
    """Orders paid since the start of their seller's today or week (``Window`` attribute)."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for tenant in tenants:
        by_site[tenant.site].append(tenant.pk)
    all_windows = windows(now)
    condition = Q(pk__in=[])
    for site, ids in by_site.items():
        condition |= Q(tenant_id__in=ids, paid_at__gte=getattr(all_windows[site], attribute))
    return condition


def _read_takings(found: dict[int, SellerRow], tenants: list[Tenant], now: datetime) -> None:
    today, week = _since(tenants, now, "today_start"), _since(tenants, now, "week_start")
    figures = (
        Order.objects.filter(tenant_id__in=list(found), status__in=PAID_STATUSES)
        .order_by()
        .values("tenant_id")
        .annotate(
            last_payment=Max("paid_at"),
            today_count=Count("pk", filter=today),
            today_volume=Sum("total_amount", filter=today),
            week_count=Count("pk", filter=week),
            week_volume=Sum("total_amount", filter=week),
            week_fees=Sum("marketplace_fee", filter=week),
            total_fees=Sum("marketplace_fee"),
        )
    )
    for figure in figures:
        row = found[figure.pop("tenant_id")]
        cents = SITES[row.tenant.site].smallest_amount
        for name, value in figure.items():
            if name.endswith(("_volume", "_fees")):
                value = (value or Decimal(0)).quantize(cents)  # SQLite sums as floats
            setattr(row, name, value)


def _read_people(found: dict[int, SellerRow], ids: list[int]) -> None:
    owners = (
        Membership.objects.filter(tenant_id__in=ids, role=Role.OWNER)
        .order_by("-created_at", "-pk")  # the first owner last: it is the one kept
        .values_list("tenant_id", "user__email")
    )
    for tenant_id, email in owners:
        found[tenant_id].owner_email = email
    invitations = (
        Invitation.objects.filter(
            tenant_id__in=ids, role=Role.OWNER, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .order_by("sent_at", "pk")  # the newest last: it is the one kept
        .values_list("tenant_id", "email")
    )
    for tenant_id, email in invitations:
        found[tenant_id].invited_email = email


def _counts(queryset: QuerySet, ids: list[int], **counts) -> Iterator[dict]:
    return iter(
        queryset.filter(tenant_id__in=ids).order_by().values("tenant_id").annotate(**counts)
    )


def _read_problems(found: dict[int, SellerRow], ids: list[int]) -> None:
    failed = SyncState.FAILED
    for model, name in ((Store, "failed_stores"), (PointOfSale, "failed_pos")):
        for row in _counts(model.objects.filter(sync_state=failed), ids, n=Count("pk")):
            setattr(found[row["tenant_id"]], name, row["n"])
    notifications = Notification.objects.filter(status=Notification.Status.FAILED)
    for row in _counts(notifications, ids, n=Count("pk")):
        found[row["tenant_id"]].failed_notifications = row["n"]
    deliveries = WebhookDelivery.objects.filter(FAILING_DELIVERY)
    for row in _counts(
        deliveries,
        ids,
        failed=Count("pk", filter=Q(status=WebhookDelivery.Status.FAILED)),
        retrying=Count("pk", filter=Q(status=WebhookDelivery.Status.PENDING)),
    ):
        found[row["tenant_id"]].failed_deliveries = row["failed"]
        found[row["tenant_id"]].retrying_deliveries = row["retrying"]
    disputes = Dispute.objects.filter(status=Dispute.Status.OPENED)
    for row in _counts(disputes, ids, n=Count("pk")):
        found[row["tenant_id"]].open_disputes = row["n"]
    reconnect = MercadoPagoCredential.objects.filter(
        tenant_id__in=ids, status=MercadoPagoCredential.Status.NEEDS_RECONNECT
    ).values_list("tenant_id", flat=True)
    for tenant_id in reconnect:
        found[tenant_id].needs_reconnect = True
    for row in found.values():
        row.problems = [
            problem
            for problem, present in (
                (Problem.SYNC, row.failed_stores or row.failed_pos),
                (Problem.NOTIFICATIONS, row.failed_notifications),
                (Problem.DELIVERIES, row.failed_deliveries or row.retrying_deliveries),
                (Problem.RECONNECT, row.needs_reconnect),
                (Problem.DISPUTES, row.open_disputes),
            )
            if present
        ]
