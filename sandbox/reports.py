"""Mercado Pago's account reports: the settlement report (``/v1/account/settlement_report``,
"Reporte de liquidaciones") and the release report (``/v1/account/release_report``, "Reporte de
dinero liberado").

Each seller has one configuration per report (``…/config``; the documented defaults until it
posts or puts one). ``POST /v1/account/<report>`` answers 202 with a ``pending`` report; the
sandbox generates it when ``process_due`` runs (the ``sandbox.generate_reports`` task, or
``POST /sandbox/_control/reports/run``), which also generates a schedule's report once its
``generation_date`` has passed and schedules the next one. Reading the list or a file runs it
too, for the seller, for reports due ``GENERATION_DELAY`` ago (as expiry is lazy for orders), so
reports are generated with no worker.

The CSV is built from the seller's own money movements (``movements``): approved payments
(``SETTLEMENT``), approved refunds (``REFUND``), each with the Mercado Pago fee (``MP_FEE_RATES``,
the sandbox's rates) and the marketplace fee of its order, refunded in proportion. Other kinds
(``CHARGEBACK``, ``DISPUTE``) come from more functions in ``MOVEMENT_SOURCES``. Money is released
at once: a movement's settlement and release date is its own date.
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone as django_timezone

from sandbox.errors import ApiError
from sandbox.models import (
    Account,
    Chargeback,
    Payment,
    Refund,
    Report,
    ReportConfig,
    ReportType,
)
from sandbox.sites import site

# The URL segment of each report.
REPORT_PATHS = {"settlement_report": ReportType.SETTLEMENT, "release_report": ReportType.RELEASE}

# Columns in the order of the documented example CSVs (the defaults), then the other documented
# columns a configuration may ask for.
SETTLEMENT_DEFAULT_COLUMNS = (
    "EXTERNAL_REFERENCE",
    "SOURCE_ID",
    "USER_ID",
    "PAYMENT_METHOD_TYPE",
    "PAYMENT_METHOD",
    "SITE",
    "TRANSACTION_TYPE",
    "TRANSACTION_AMOUNT",
    "TRANSACTION_CURRENCY",
    "TRANSACTION_DATE",
    "FEE_AMOUNT",
    "SETTLEMENT_NET_AMOUNT",
    "SETTLEMENT_CURRENCY",
    "SETTLEMENT_DATE",
    "REAL_AMOUNT",
    "COUPON_AMOUNT",
    "METADATA",
    "MKP_FEE_AMOUNT",
    "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT",
    "TAXES_AMOUNT",
    "INSTALLMENTS",
    "ORDER_ID",
    "SHIPPING_ID",
    "SHIPMENT_MODE",
    "PACK_ID",
)
SETTLEMENT_COLUMNS = (
    *SETTLEMENT_DEFAULT_COLUMNS,
    "SELLER_AMOUNT",
    "TAX_AMOUNT_TELCO",
    "TAX_DETAIL",
    "POS_ID",
    "POS_NAME",
    "EXTERNAL_POS_ID",
    "STORE_ID",
    "STORE_NAME",
    "EXTERNAL_STORE_ID",
    "TAXES_DISAGGREGATED",
    "POI_ID",
    "POI_WALLET_NAME",
    "POI_BANK_NAME",
    "CARD_INITIAL_NUMBER",
    "OPERATION_TAGS",
    "PAYER_NAME",
    "PAYER_ID_TYPE",
    "PAYER_ID_NUMBER",
)
RELEASE_DEFAULT_COLUMNS = (
    "DATE",
    "SOURCE_ID",
    "EXTERNAL_REFERENCE",
    "RECORD_TYPE",
    "DESCRIPTION",
    "NET_CREDIT_AMOUNT",
    "NET_DEBIT_AMOUNT",
    "GROSS_AMOUNT",
    "MP_FEE_AMOUNT",
    "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT",
    "TAXES_AMOUNT",
    "COUPON_AMOUNT",
    "INSTALLMENTS",
    "PAYMENT_METHOD",
)
RELEASE_COLUMNS = (
    *RELEASE_DEFAULT_COLUMNS,
    "SELLER_AMOUNT",
    "PAYMENT_METHOD_TYPE",
    "TAX_DETAIL",
    "TAX_AMOUNT_TELCO",
    "TRANSACTION_APPROVAL_DATE",
    "POS_ID",
    "POS_NAME",
    "EXTERNAL_POS_ID",
    "STORE_ID",
    "STORE_NAME",
    "EXTERNAL_STORE_ID",
    "ORDER_ID",
    "SHIPPING_ID",
    "SHIPMENT_MODE",
    "PACK_ID",
    "TAXES_DISAGGREGATED",
    "POI_ID",
    "CARD_INITIAL_NUMBER",
    "OPERATION_TAGS",
    "BALANCE_AMOUNT",
    "CURRENCY",
)
COLUMNS = {ReportType.SETTLEMENT: SETTLEMENT_COLUMNS, ReportType.RELEASE: RELEASE_COLUMNS}
DEFAULT_COLUMNS = {
    ReportType.SETTLEMENT: SETTLEMENT_DEFAULT_COLUMNS,
    ReportType.RELEASE: RELEASE_DEFAULT_COLUMNS,
}
# The payer's identity is given by Argentine accounts only (the glossary marks them [mla]).
SITE_COLUMNS = {"PAYER_NAME": {"MLA"}, "PAYER_ID_TYPE": {"MLA"}, "PAYER_ID_NUMBER": {"MLA"}}

SEPARATORS = (",", ";", "|")
# The documented Brazilian example is separated by ";", the others by ",".
SITE_SEPARATORS = {"MLB": ";"}
DEFAULT_TIMEZONE = "GMT-04"
TIMEZONE_PATTERN = re.compile(r"^GMT([+-])(\d{2})(?::?(\d{2}))?$")
FILE_NAME_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
TRANSLATIONS = ("en", "es", "pt")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FREQUENCY_TYPES = ("daily", "weekly", "monthly")

SETTLEMENT_FLAGS = (
    "include_withdraw",
    "coupon_detailed",
    "refund_detailed",
    "shipping_detail",
    "show_chargeback_cancel",
    "show_fee_prevision",
)
RELEASE_FLAGS = (
    "include_withdrawal",
    "include_withdrawal_at_end",
    "execute_after_withdrawal",
    "coupon_detailed",
    "refund_detailed",
    "check_available_balance",
    "compensate_detail",
)
FLAGS = {ReportType.SETTLEMENT: SETTLEMENT_FLAGS, ReportType.RELEASE: RELEASE_FLAGS}
SFTP_FIELDS = {"server": str, "port": int, "username": str, "password": str, "remote_dir": str}

# The sandbox's Mercado Pago fee per payment type (illustrative rates, not a price list).
MP_FEE_RATES = {
    "account_money": Decimal("0.0099"),
    "debit_card": Decimal("0.0099"),
    "bank_transfer": Decimal("0.0099"),
    "credit_card": Decimal("0.0299"),
}
CENTS = Decimal("0.01")
# Reading the list or a file generates the reports due this long ago (the run does at once).
GENERATION_DELAY = timedelta(seconds=30)


def report_type_of(path_segment: str) -> str:
    """The report a URL names (``settlement_report`` or ``release_report``)."""
    return REPORT_PATHS[path_segment]


def bad_request(field_name: str, message: str) -> ApiError:
    """A 400 in the legacy envelope, the offending field as ``cause[].code``."""
    return ApiError(
        400, "bad_request", message, cause=[{"code": field_name, "description": message}]
    )


# Configuration ---------------------------------------------------------------------------------


def default_config(account: Account, report_type: str) -> dict:
    """The configuration a seller has before posting one, as documented."""
    prefix = "settlement-report" if report_type == ReportType.SETTLEMENT else "release-report"
    config = {
        "file_name_prefix": f"{prefix}-{account.user_id}",
        "columns": [{"key": key} for key in DEFAULT_COLUMNS[report_type]],
        "frequency": {"hour": 0, "type": "monthly", "value": 1},
        "display_timezone": DEFAULT_TIMEZONE,
        "separator": SITE_SEPARATORS.get(account.site_id, ","),
        "notification_email_list": [],
    }
    return config | dict.fromkeys(FLAGS[report_type], False)


def stored_config(account: Account, report_type: str) -> ReportConfig | None:
    return ReportConfig.objects.filter(account=account, report_type=report_type).first()


def config_of(account: Account, report_type: str) -> dict:
    """The seller's configuration (the default one when none is stored), with ``scheduled``."""
    stored = stored_config(account, report_type)
    data = stored.data if stored else default_config(account, report_type)
    return public_config(data) | {"scheduled": bool(stored and stored.scheduled)}


def public_config(data: Mapping) -> dict:
    """A configuration as answered: the SFTP password is never sent back."""
    shown = dict(data)
    if "sftp_info" in shown:
        shown["sftp_info"] = {k: v for k, v in shown["sftp_info"].items() if k != "password"}
    return shown


def create_config(account: Account, report_type: str, body: dict) -> dict:
    """``POST …/config``: the first configuration (409 when there is one; ``PUT`` changes it)."""
    with transaction.atomic():
        if stored_config(account, report_type) is not None:
            raise ApiError(409, "conflict", "the report configuration already exists; use PUT")
        data = default_config(account, report_type) | validated(account, report_type, body)
        ReportConfig.objects.create(account=account, report_type=report_type, data=data)
    return config_of(account, report_type)


def update_config(account: Account, report_type: str, body: dict) -> dict:
    """``PUT …/config``: the fields given replace the current (or default) ones."""
    changes = validated(account, report_type, body)
    with transaction.atomic():
        stored, _ = ReportConfig.objects.select_for_update().get_or_create(
            account=account,
            report_type=report_type,
            defaults={"data": default_config(account, report_type)},
        )
        stored.data = stored.data | changes
        stored.save(update_fields=["data"])
    return config_of(account, report_type)


def validated(account: Account, report_type: str, body: dict) -> dict:
    """The known, valid fields of a configuration body; a 400 names the first invalid one.

    Unknown fields are ignored, and so is the read-only ``scheduled``.
    """
    checks: dict[str, Callable[[object], object]] = {
        "file_name_prefix": _prefix,
        "columns": lambda value: _columns(account, report_type, value),
        "frequency": _frequency,
        "display_timezone": _timezone_name,
        "separator": _separator,
        "report_translation": _translation,
        "notification_email_list": _emails,
        "sftp_info": _sftp,
    }
    checks |= dict.fromkeys(FLAGS[report_type], _flag)
    result = {}
    for name, check in checks.items():
        if name in body:
            try:
                result[name] = check(body[name])
            except ValueError as error:
                raise bad_request(name, f"{name}: {error}") from error
    return result


def _prefix(value: object) -> str:
    if not isinstance(value, str) or not FILE_NAME_PREFIX_PATTERN.match(value):
        raise ValueError("1 to 80 letters, digits, '.', '-' or '_'")
    return value


def _columns(account: Account, report_type: str, value: object) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise ValueError('a non-empty list of {"key": COLUMN}')
    keys = []
    for entry in value:
        key = entry.get("key") if isinstance(entry, dict) else None
        if key not in COLUMNS[report_type]:
            raise ValueError(f"unknown column {key!r}")
        if account.site_id not in SITE_COLUMNS.get(key, {account.site_id}):
            raise ValueError(f"column {key} is not available in {account.site_id}")
        if key in keys:
            raise ValueError(f"column {key} is repeated")
        keys.append(key)
    return [{"key": key} for key in keys]


def _frequency(value: object) -> dict:
    if not isinstance(value, dict) or value.get("type") not in FREQUENCY_TYPES:
        raise ValueError("type must be daily, weekly or monthly")
    hour, kind, day = value.get("hour", 0), value["type"], value.get("value", 1)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ValueError("hour must be an integer from 0 to 23")
    if kind == "weekly" and day not in WEEKDAYS:
        raise ValueError("a weekly value is a day: monday, tuesday, ... sunday")
    if kind == "monthly" and (isinstance(day, bool) or day not in range(1, 32)):
        raise ValueError("a monthly value is a day of the month from 1 to 31")
    return {"hour": hour, "type": kind, "value": day if kind != "daily" else 1}


def _timezone_name(value: object) -> str:
    if not isinstance(value, str) or not TIMEZONE_PATTERN.match(value):
        raise ValueError("a time zone such as GMT-04")
    return value


def _separator(value: object) -> str:
    if value not in SEPARATORS:
        raise ValueError(f"one of {' '.join(SEPARATORS)}")
    return value


def _translation(value: object) -> str:
    if value not in TRANSLATIONS:
        raise ValueError(f"one of {', '.join(TRANSLATIONS)}")
    return value


def _emails(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("a list of e-mail addresses")
    try:
        for address in value:
            validate_email(address)
    except ValidationError as error:
        raise ValueError("a list of e-mail addresses") from error
    return value


def _sftp(value: object) -> dict:
    if not isinstance(value, dict) or any(
        not isinstance(value.get(name), kind) or isinstance(value.get(name), bool)
        for name, kind in SFTP_FIELDS.items()
    ):
        raise ValueError("server, port, username, password and remote_dir are required")
    return {name: value[name] for name in SFTP_FIELDS}


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def display_timezone(config: Mapping) -> timezone:
    """The fixed offset a configuration shows dates in (``GMT-04`` by default)."""
    match = TIMEZONE_PATTERN.match(config.get("display_timezone") or DEFAULT_TIMEZONE)
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return timezone(-offset if sign == "-" else offset)


# Generation and listing ------------------------------------------------------------------------


def _moment(body: dict, name: str) -> datetime:
    value = body.get(name)
    if not isinstance(value, str):
        raise bad_request(name, f"{name} is required (ISO 8601, e.g. 2019-05-01T00:00:00Z)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise bad_request(name, f"{name}: {value!r} is not an ISO 8601 date-time") from error
    if moment.tzinfo is None:
        raise bad_request(name, f"{name} needs a time zone (Z or an offset)")
    return moment


# The sites whose report requests may answer 203 (the guides' "[mlm, mla, mco, mpe, mlu, mlc]").
NOT_CREATED_SITES = frozenset({"MLM", "MLA", "MCO", "MPE", "MLU", "MLC"})
# The longest period one request covers: the guides' "reports with data of up to a year".
LONGEST_PERIOD = timedelta(days=365)


class NotCreated(Exception):
    """A 203 answer: the request was taken but no report was created; ``body`` indicates the
    dates to ask for again."""

    def __init__(self, body: dict) -> None:
        super().__init__("report not created")
        self.body = body


def generate(account: Account, report_type: str, body: dict) -> Report:
    """``POST /v1/account/<report>``: a pending manual report of ``begin_date``..``end_date``.

    A period longer than a year creates nothing: on the sites whose guides document a 203
    answer, ``NotCreated`` indicates the year from ``begin_date``, the dates to ask for again
    (an emulation: the guides say only "with the dates indicated"); elsewhere it is a 400."""
    begin, end = _moment(body, "begin_date"), _moment(body, "end_date")
    if begin >= end:
        raise bad_request("begin_date", "begin_date must be before end_date")
    if end - begin > LONGEST_PERIOD:
        if account.site_id in NOT_CREATED_SITES:
            raise NotCreated({"begin_date": _utc(begin), "end_date": _utc(begin + LONGEST_PERIOD)})
        raise bad_request("end_date", "a report covers a year at most")
    now = django_timezone.now()
    return Report.objects.create(
        account=account,
        report_type=report_type,
        begin_date=begin,
        end_date=end,
        created_from=Report.CreatedFrom.MANUAL,
        generation_date=now,
        date_created=now,
        last_modified=now,
    )


def listed(account: Account, report_type: str) -> list[Report]:
    """``GET …/list``: the seller's reports of that type, pending and processed, newest first
    (generating first those due ``GENERATION_DELAY`` ago)."""
    process_due(account=account, delay=GENERATION_DELAY)
    return list(
        Report.objects.filter(account=account, report_type=report_type)
        .exclude(status=Report.Status.DELETED)
        .order_by("-date_created", "-pk")
    )


def download(account: Account, report_type: str, file_name: str) -> Report:
    """The processed report named ``file_name``; 404 otherwise (pending ones have no file)."""
    process_due(account=account, delay=GENERATION_DELAY)
    found = Report.objects.filter(
        account=account,
        report_type=report_type,
        file_name=file_name,
        status=Report.Status.PROCESSED,
    ).first()
    if found is None:
        raise ApiError(404, "not_found", f"report {file_name} not found")
    return found


# Schedules -------------------------------------------------------------------------------------


def schedule(account: Account, report_type: str) -> Report:
    """``POST …/schedule``: the next report of the configured ``frequency``; ``scheduled`` on."""
    now = django_timezone.now()
    with transaction.atomic():
        stored, _ = ReportConfig.objects.select_for_update().get_or_create(
            account=account,
            report_type=report_type,
            defaults={"data": default_config(account, report_type)},
        )
        if stored.scheduled:
            raise ApiError(409, "conflict", "the report is already scheduled")
        stored.scheduled = True
        stored.save(update_fields=["scheduled"])
        return _schedule_next(account, report_type, stored.data, now)


def unschedule(account: Account, report_type: str) -> Report:
    """``DELETE …/schedule``: the pending scheduled report, now ``deleted``; ``scheduled`` off."""
    now = django_timezone.now()
    with transaction.atomic():
        stored = (
            ReportConfig.objects.select_for_update()
            .filter(account=account, report_type=report_type, scheduled=True)
            .first()
        )
        if stored is None:
            raise ApiError(404, "not_found", "the report is not scheduled")
        stored.scheduled = False
        stored.save(update_fields=["scheduled"])
        scheduled = Report.objects.filter(
            account=account, report_type=report_type, created_from=Report.CreatedFrom.SCHEDULE
        )
        scheduled.filter(status=Report.Status.PENDING).update(
            status=Report.Status.DELETED, last_modified=now
        )
        return scheduled.select_related("account").latest("pk")


def _schedule_next(account: Account, report_type: str, config: Mapping, after: datetime) -> Report:
    generation = next_generation(config, after)
    begin = previous_generation(config, generation)
    return Report.objects.create(
        account=account,
        report_type=report_type,
        begin_date=begin,
        end_date=generation - timedelta(seconds=1),
        created_from=Report.CreatedFrom.SCHEDULE,
        generation_date=generation,
        date_created=after,
        last_modified=after,
    )


def _runs_on(frequency: Mapping, day: date) -> bool:
    kind, value = frequency["type"], frequency.get("value", 1)
    if kind == "weekly":
        return WEEKDAYS[day.weekday()] == value
    if kind == "monthly":
        last = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
        return day.day == min(value, last)
    return True


def next_generation(config: Mapping, after: datetime) -> datetime:
    """The first generation time of ``config["frequency"]`` later than ``after``."""
    frequency, zone = config["frequency"], display_timezone(config)
    local = after.astimezone(zone)
    candidate = local.replace(hour=frequency["hour"], minute=0, second=0, microsecond=0)
    while candidate <= local or not _runs_on(frequency, candidate.date()):
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def previous_generation(config: Mapping, generation: datetime) -> datetime:
    """The generation time before ``generation``: where its report's period begins."""
    frequency, zone = config["frequency"], display_timezone(config)
    candidate = generation.astimezone(zone) - timedelta(days=1)
    while not _runs_on(frequency, candidate.date()):
        candidate -= timedelta(days=1)
    return candidate.astimezone(UTC)


# The lifecycle: generating reports -------------------------------------------------------------


def process_due(
    now: datetime | None = None,
    *,
    account: Account | None = None,
    delay: timedelta = timedelta(0),
) -> list[Report]:
    """Generate every pending report (of ``account``, or everyone's) whose ``generation_date``
    is ``delay`` or more before ``now``, and schedule the next report of each schedule
    generated; the reports generated."""
    now = now or django_timezone.now()
    done = []
    due = Report.objects.filter(status=Report.Status.PENDING, generation_date__lte=now - delay)
    if account is not None:
        due = due.filter(account=account)
    for pk in due.order_by("generation_date", "pk").values_list("pk", flat=True):
        with transaction.atomic():
            report = (
                Report.objects.select_for_update()
                .select_related("account")
                .filter(pk=pk, status=Report.Status.PENDING)
                .first()
            )
            if report is None:
                continue
            _generate(report, now)
            done.append(report)
    return done


def _generate(report: Report, now: datetime) -> None:
    account, report_type = report.account, report.report_type
    stored = stored_config(account, report_type)
    config = stored.data if stored else default_config(account, report_type)
    report.content = render_csv(account, report_type, config, report.begin_date, report.end_date)
    report.file_name = _file_name(report, config, now)
    report.status = Report.Status.PROCESSED
    report.last_modified = now
    report.save()
    if report.created_from == Report.CreatedFrom.SCHEDULE and stored and stored.scheduled:
        _schedule_next(account, report_type, config, max(now, report.generation_date))


def _file_name(report: Report, config: Mapping, now: datetime) -> str:
    stamp = now.astimezone(display_timezone(config)).strftime("%Y-%m-%d-%H%M%S")
    name = f"{config['file_name_prefix']}-{stamp}.csv"
    taken = Report.objects.filter(
        account=report.account, report_type=report.report_type, file_name=name
    ).exists()
    return f"{config['file_name_prefix']}-{stamp}-{report.pk}.csv" if taken else name


# Money movements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One movement of a seller's money, as the reports show it.

    Amounts are signed from the seller's side: ``gross`` is what the buyer paid (negative for
    money going back), the fees are negative when charged and positive when given back.
    """

    kind: str  # TRANSACTION_TYPE: SETTLEMENT, REFUND, CHARGEBACK, DISPUTE, ...
    date: datetime
    payment: Payment
    gross: Decimal
    mp_fee: Decimal
    marketplace_fee: Decimal
    metadata: dict = field(default_factory=dict)

    @property
    def fee(self) -> Decimal:
        return self.mp_fee + self.marketplace_fee

    @property
    def net(self) -> Decimal:
        return self.gross + self.fee


MovementSource = Callable[[Account, datetime, datetime], Iterable[Movement]]


def _places(payment: Payment) -> Decimal:
    return Decimal(1).scaleb(-site(payment.account.site_id).decimals)


def mercadopago_fee(payment: Payment) -> Decimal:
    """The Mercado Pago fee the sandbox charges on ``payment`` (a positive amount)."""
    rate = MP_FEE_RATES.get(payment.payment_type_id, MP_FEE_RATES["account_money"])
    return (payment.amount * rate).quantize(_places(payment), ROUND_HALF_UP)


def marketplace_fee(payment: Payment) -> Decimal:
    """The integrator's fee on ``payment``: its order's ``marketplace_fee`` (0 when none)."""
    order = payment.order
    return order.marketplace_fee if order and order.marketplace_fee is not None else Decimal(0)


def _payments(account: Account) -> QuerySet[Payment]:
    return Payment.objects.filter(account=account).select_related(
        "account", "order", "merchant_order", "pos__store", "buyer"
    )


def payment_movements(account: Account, begin: datetime, end: datetime) -> Iterator[Movement]:
    """A ``SETTLEMENT`` per payment approved in the period (refunded since, or not)."""
    paid = _payments(account).filter(
        status__in=(Payment.Status.APPROVED, Payment.Status.REFUNDED),
        date_approved__gte=begin,
        date_approved__lte=end,
    )
    for payment in paid:
        yield Movement(
            kind="SETTLEMENT",
            date=payment.date_approved,
            payment=payment,
            gross=payment.amount,
            mp_fee=-mercadopago_fee(payment),
            marketplace_fee=-marketplace_fee(payment),
        )


def refund_movements(account: Account, begin: datetime, end: datetime) -> Iterator[Movement]:
    """A ``REFUND`` per refund approved in the period (dated when it was approved; refunds in
    process or rejected move no money), giving back the fees in proportion: the refunds of a
    payment give back all of its fees once they refund it all."""
    approved = Refund.Status.APPROVED
    refunded = (
        _payments(account)
        .filter(refunds__status=approved, refunds__last_updated__range=(begin, end))
        .distinct()
    )
    for payment in refunded:
        refunds = payment.refunds.filter(status=approved).order_by("last_updated", "pk")
        before, total = Decimal(0), payment.amount
        fees = mercadopago_fee(payment), marketplace_fee(payment)
        places = _places(payment)
        for refund in refunds:
            after = before + refund.amount
            given = [
                (fee * after / total).quantize(places, ROUND_HALF_UP)
                - (fee * before / total).quantize(places, ROUND_HALF_UP)
                for fee in fees
            ]
            before = after
            if begin <= refund.last_updated <= end:
                yield _refund_movement(payment, refund, *given)


def _refund_movement(
    payment: Payment, refund: Refund, mp_fee: Decimal, mkp_fee: Decimal
) -> Movement:
    return Movement(
        kind="REFUND",
        date=refund.last_updated,
        payment=payment,
        gross=-refund.amount,
        mp_fee=mp_fee,
        marketplace_fee=mkp_fee,
        metadata={"refund_id": refund.refund_id or str(refund.pk)},
    )


def chargeback_movements(account: Account, begin: datetime, end: datetime) -> Iterator[Movement]:
    """A ``CHARGEBACK`` per chargeback opened in the period (its amount held back from the seller,
    no fee given back), and a ``CHARGEBACK_CANCEL`` giving it back when the case closed in the
    seller's favour (``coverage_applied``) in the period."""
    cases = Chargeback.objects.filter(account=account).select_related("payment__account")
    for case in cases.filter(date_created__range=(begin, end)):
        yield _chargeback_movement(case, "CHARGEBACK", case.date_created, -case.amount)
    covered = cases.filter(coverage_applied=True, date_last_updated__range=(begin, end))
    for case in covered:
        yield _chargeback_movement(case, "CHARGEBACK_CANCEL", case.date_last_updated, case.amount)


def _chargeback_movement(case: Chargeback, kind: str, moment: datetime, gross: Decimal) -> Movement:
    return Movement(
        kind=kind,
        date=moment,
        payment=case.payment,
        gross=gross,
        mp_fee=Decimal(0),
        marketplace_fee=Decimal(0),
        metadata={"chargeback_id": case.chargeback_id},
    )


# Every kind of movement the reports show.
MOVEMENT_SOURCES: tuple[MovementSource, ...] = (
    payment_movements,
    refund_movements,
    chargeback_movements,
)


def movements(account: Account, begin: datetime, end: datetime) -> list[Movement]:
    """The seller's movements dated ``begin``..``end`` (both included), oldest first."""
    found = [move for source in MOVEMENT_SOURCES for move in source(account, begin, end)]
    return sorted(found, key=lambda move: (move.date, move.payment.pk, move.kind != "SETTLEMENT"))


# CSV -------------------------------------------------------------------------------------------


def amount(value: Decimal) -> str:
    """An amount as the reports write it: a point and two decimals ("-8.85", "0.00")."""
    return format(value.quantize(CENTS, ROUND_HALF_UP) + 0, "f")


def _date(value: datetime | None, zone: timezone) -> str:
    return value.astimezone(zone).isoformat(timespec="milliseconds") if value else ""


def _order_id(payment: Payment) -> str:
    if payment.merchant_order_id:
        return str(payment.merchant_order_id)
    return payment.order.order_id if payment.order else ""


def _place(payment: Payment) -> dict[str, str]:
    pos = payment.pos
    if pos is None:
        return {}
    return {
        "POS_ID": str(pos.pk),
        "POS_NAME": pos.name,
        "EXTERNAL_POS_ID": pos.external_id,
        "STORE_ID": str(pos.store_id),
        "STORE_NAME": pos.store.name,
        "EXTERNAL_STORE_ID": pos.store.external_id,
        "OPERATION_TAGS": "QR",
    }


def _common(move: Movement) -> dict[str, str]:
    payment = move.payment
    zero = amount(Decimal(0))
    return {
        "SOURCE_ID": str(payment.pk),
        "EXTERNAL_REFERENCE": payment.external_reference,
        "PAYMENT_METHOD_TYPE": payment.payment_type_id,
        "PAYMENT_METHOD": payment.payment_method_id,
        "INSTALLMENTS": str(payment.installments),
        "ORDER_ID": _order_id(payment),
        "COUPON_AMOUNT": zero,
        "FINANCING_FEE_AMOUNT": zero,
        "SHIPPING_FEE_AMOUNT": zero,
        "TAXES_AMOUNT": zero,
        "TAX_AMOUNT_TELCO": zero,
        "SELLER_AMOUNT": amount(move.gross),
    } | _place(payment)


def settlement_row(move: Movement, zone: timezone, real_amount: Decimal) -> dict[str, str]:
    """A settlement report line, by column."""
    payment = move.payment
    return _common(move) | {
        "USER_ID": str(payment.account.user_id),
        "SITE": payment.account.site_id,
        "TRANSACTION_TYPE": move.kind,
        "TRANSACTION_AMOUNT": amount(move.gross),
        "TRANSACTION_CURRENCY": payment.currency,
        "TRANSACTION_DATE": _date(move.date, zone),
        "FEE_AMOUNT": amount(move.fee),
        "SETTLEMENT_NET_AMOUNT": amount(move.net),
        "SETTLEMENT_CURRENCY": payment.currency,
        "SETTLEMENT_DATE": _date(move.date, zone),
        "REAL_AMOUNT": amount(real_amount),
        "METADATA": json.dumps([move.metadata], separators=(",", ":")),
        "MKP_FEE_AMOUNT": amount(move.marketplace_fee),
    }


def release_row(move: Movement, zone: timezone, balance: Decimal) -> dict[str, str]:
    """A release report line (``RECORD_TYPE`` ``release``), by column."""
    return _common(move) | {
        "DATE": _date(move.date, zone),
        "RECORD_TYPE": "release",
        "DESCRIPTION": move.kind.lower().replace("settlement", "payment"),
        "NET_CREDIT_AMOUNT": amount(max(move.net, Decimal(0))),
        "NET_DEBIT_AMOUNT": amount(max(-move.net, Decimal(0))),
        "GROSS_AMOUNT": amount(move.gross),
        "MP_FEE_AMOUNT": amount(move.fee),
        "TRANSACTION_APPROVAL_DATE": _date(move.payment.date_approved, zone),
        "BALANCE_AMOUNT": amount(balance),
        "CURRENCY": move.payment.currency,
    }


def settlement_rows(
    account: Account, begin: datetime, end: datetime, zone: timezone
) -> Iterator[dict[str, str]]:
    """Every movement of the period, by column."""
    found = movements(account, begin, end)
    # REAL_AMOUNT of a settlement: its net less what its refunds (to date) took back.
    refunded: dict[int, Decimal] = {}
    for move in movements(account, begin, django_timezone.now()):
        if move.kind == "REFUND":
            refunded[move.payment.pk] = refunded.get(move.payment.pk, Decimal(0)) + move.net
    for move in found:
        real = move.net + refunded.get(move.payment.pk, Decimal(0))
        yield settlement_row(move, zone, real if move.kind == "SETTLEMENT" else move.net)


def release_rows(
    account: Account, begin: datetime, end: datetime, zone: timezone
) -> Iterator[dict[str, str]]:
    """The balance available when the period begins, then every release in it."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    balance = sum(
        (move.net for move in movements(account, epoch, begin - timedelta(microseconds=1))),
        Decimal(0),
    )
    fees = ("MP_FEE_AMOUNT", "FINANCING_FEE_AMOUNT", "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT")
    yield dict.fromkeys((*fees, "COUPON_AMOUNT"), amount(Decimal(0))) | {
        "DATE": _date(begin, zone),
        "RECORD_TYPE": "initial_available_balance",
        "NET_CREDIT_AMOUNT": amount(max(balance, Decimal(0))),
        "NET_DEBIT_AMOUNT": amount(max(-balance, Decimal(0))),
        "GROSS_AMOUNT": amount(balance),
        "BALANCE_AMOUNT": amount(balance),
        "INSTALLMENTS": "1",
        "CURRENCY": site(account.site_id).currency,
    }
    for move in movements(account, begin, end):
        balance += move.net
        yield release_row(move, zone, balance)


def render_csv(
    account: Account, report_type: str, config: Mapping, begin: datetime, end: datetime
) -> str:
    """The report's CSV: the configured columns, separator and time zone."""
    columns = [entry["key"] for entry in config["columns"]]
    zone = display_timezone(config)
    rows = settlement_rows if report_type == ReportType.SETTLEMENT else release_rows
    out = io.StringIO()
    writer = csv.writer(out, delimiter=config["separator"], lineterminator="\n")
    writer.writerow(columns)
    for row in rows(account, begin, end, zone):
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue()


# Rendering -------------------------------------------------------------------------------------


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_report(report: Report) -> dict:
    """A report as generation, list and schedule answer it."""
    stored = stored_config(report.account, report.report_type)
    zone = display_timezone(stored.data if stored else {})
    return {
        "id": report.pk,
        "user_id": report.account.user_id,
        "begin_date": _utc(report.begin_date),
        "end_date": _utc(report.end_date),
        "file_name": report.file_name or None,
        "created_from": report.created_from,
        "status": report.status,
        "report_type": report.report_type,
        "generation_date": _date(report.generation_date, zone),
        "date_created": _date(report.date_created, zone),
        "last_modified": _date(report.last_modified, zone),
        "retries": report.retries,
    }
