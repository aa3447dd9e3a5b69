"""Account reports: the settlement report (``/v1/account/settlement_report``, every movement of
the account with its fees) and the release report (``/v1/account/release_report``, the money
released to the available balance). docs/mpapi.md ("Reports") is the guide.

Both reports have the same endpoints, so every method takes a :class:`ReportKind`:

- ``get_report_config`` / ``create_report_config`` / ``update_report_config`` →
  :class:`ReportConfig`;
- ``generate_report`` → :class:`ReportTask` (202: generated later, ``status`` ``pending``);
- ``list_reports`` → tuple of :class:`ReportTask` (a ``processed`` one has its ``file_name``);
- ``download_report`` → the CSV text; ``download_report_lines`` → list of :class:`ReportLine`;
- ``schedule_report`` / ``unschedule_report`` → :class:`ReportTask` (the next scheduled one).

:func:`parse_report_csv` reads either report's CSV (any documented separator) into
:class:`ReportLine` rows: ``Decimal`` amounts, aware datetimes, and a few fields under one name
for both reports (``gross_amount``, ``fee_amount``, ``net_amount``, ``date``, ...).
"""

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from mpapi.errors import UnexpectedResponse
from mpapi.parsing import JSON, integer, mapping, moment, sequence, text
from mpapi.session import Call, Session

T = TypeVar("T")
SEPARATORS = (",", ";", "|", "\t")


class ReportKind(StrEnum):
    """Which report: the value is its path segment under ``/v1/account/``."""

    SETTLEMENT = "settlement_report"
    RELEASE = "release_report"


@dataclass(frozen=True)
class ReportFrequency:
    """When a scheduled report is generated: ``type`` daily, weekly (``value`` a day name such
    as ``"monday"``) or monthly (``value`` the day of the month), at ``hour`` of the report's
    ``display_timezone``."""

    type: str
    hour: int = 0
    value: int | str = 1

    def to_json(self) -> dict:
        return {"hour": self.hour, "type": self.type, "value": self.value}

    @classmethod
    def from_json(cls, data: JSON) -> "ReportFrequency":
        value = data.get("value", 1)
        return cls(type=str(data["type"]), hour=int(data.get("hour", 0)), value=value)


@dataclass(frozen=True)
class SftpInfo:
    """Where Mercado Pago uploads each generated report (the password is never answered back)."""

    server: str
    port: int
    username: str
    password: str
    remote_dir: str

    def to_json(self) -> dict:
        return {
            "server": self.server,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "remote_dir": self.remote_dir,
        }


@dataclass(frozen=True)
class ReportConfigRequest:
    """A configuration to create, or the fields to change (None: leave as is).

    ``flags`` holds the report's documented booleans by name: for the settlement report
    ``include_withdraw``, ``coupon_detailed``, ``refund_detailed``, ``shipping_detail``,
    ``show_chargeback_cancel``, ``show_fee_prevision``; for the release report
    ``include_withdrawal``, ``include_withdrawal_at_end``, ``execute_after_withdrawal``,
    ``coupon_detailed``, ``refund_detailed``, ``check_available_balance``,
    ``compensate_detail``.
    """

    file_name_prefix: str | None = None
    columns: Sequence[str] | None = None
    frequency: ReportFrequency | None = None
    display_timezone: str | None = None  # "GMT-04" (the default)
    separator: str | None = None  # "," ";" or "|"
    report_translation: str | None = None  # en, es, pt
    notification_email_list: Sequence[str] | None = None
    sftp_info: SftpInfo | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)

    def to_json(self) -> dict:
        body: dict = {
            "file_name_prefix": self.file_name_prefix,
            "display_timezone": self.display_timezone,
            "separator": self.separator,
            "report_translation": self.report_translation,
        }
        if self.columns is not None:
            body["columns"] = [{"key": key} for key in self.columns]
        if self.frequency is not None:
            body["frequency"] = self.frequency.to_json()
        if self.notification_email_list is not None:
            body["notification_email_list"] = list(self.notification_email_list)
        if self.sftp_info is not None:
            body["sftp_info"] = self.sftp_info.to_json()
        body |= dict(self.flags)
        return {key: value for key, value in body.items() if value is not None}


@dataclass(frozen=True)
class ReportConfig:
    """A report's configuration as Mercado Pago answers it; ``scheduled`` is read-only."""

    file_name_prefix: str | None
    columns: tuple[str, ...]
    frequency: ReportFrequency | None
    display_timezone: str | None
    separator: str | None
    report_translation: str | None
    notification_email_list: tuple[str, ...]
    scheduled: bool
    raw: JSON

    @classmethod
    def from_json(cls, data: JSON) -> "ReportConfig":
        frequency = mapping(data.get("frequency"))
        return cls(
            file_name_prefix=text(data.get("file_name_prefix")),
            columns=tuple(str(mapping(entry)["key"]) for entry in sequence(data.get("columns"))),
            frequency=ReportFrequency.from_json(frequency) if frequency else None,
            display_timezone=text(data.get("display_timezone")),
            separator=text(data.get("separator")),
            report_translation=text(data.get("report_translation")),
            notification_email_list=tuple(map(str, sequence(data.get("notification_email_list")))),
            scheduled=bool(data.get("scheduled", False)),
            raw=data,
        )

    def flag(self, name: str) -> bool | None:
        """One of the report's documented booleans (see :class:`ReportConfigRequest`)."""
        value = self.raw.get(name)
        return value if isinstance(value, bool) else None


NOT_CREATED = 203  # "it was not possible to create your report": ask again (not on MLB)


class ReportNotCreated(Exception):
    """Mercado Pago took a report request but created no report (203); ``begin_date`` and
    ``end_date`` are the dates it indicates to ask for again (None when it named none)."""

    def __init__(self, *, begin_date: datetime | None, end_date: datetime | None) -> None:
        super().__init__("Mercado Pago created no report: ask again with the dates it indicates")
        self.begin_date, self.end_date = begin_date, end_date


@dataclass(frozen=True)
class ReportTask:
    """A report asked for (``created_from`` ``manual``) or scheduled (``schedule``).

    ``status`` is ``pending`` until Mercado Pago has generated it (then ``processed``, with a
    ``file_name`` to download); ``deleted`` for a scheduled report whose schedule was removed.
    """

    id: int
    user_id: int | None
    report_type: str | None
    status: str | None
    created_from: str | None
    begin_date: datetime | None
    end_date: datetime | None
    file_name: str | None
    generation_date: datetime | None
    date_created: datetime | None
    last_modified: datetime | None
    retries: int | None
    raw: JSON

    @property
    def available(self) -> bool:
        """Whether the report can be downloaded."""
        return bool(self.file_name) and self.status in (None, "processed")

    @classmethod
    def from_json(cls, data: JSON) -> "ReportTask":
        return cls(
            id=int(data["id"]),
            user_id=integer(data.get("user_id")),
            report_type=text(data.get("report_type")),
            status=text(data.get("status")),
            created_from=text(data.get("created_from")),
            begin_date=moment(data.get("begin_date")),
            end_date=moment(data.get("end_date")),
            file_name=text(data.get("file_name")) or None,
            generation_date=moment(data.get("generation_date")),
            date_created=moment(data.get("date_created")),
            last_modified=moment(data.get("last_modified")),
            retries=integer(data.get("retries")),
            raw=data,
        )


@dataclass(frozen=True)
class ReportLine:
    """One line of a settlement or release report.

    ``values`` holds every column as written. The typed fields read the same meaning from
    either report (None when the report has no such column):

    ==================  ==========================  =====================================
    field               settlement report           release report
    ==================  ==========================  =====================================
    kind                TRANSACTION_TYPE            DESCRIPTION (payment, refund, ...)
    record_type         None                        RECORD_TYPE (release, initial_…)
    gross_amount        TRANSACTION_AMOUNT          GROSS_AMOUNT
    fee_amount          FEE_AMOUNT (every fee)      MP_FEE_AMOUNT (every fee)
    net_amount          SETTLEMENT_NET_AMOUNT       NET_CREDIT_AMOUNT - NET_DEBIT_AMOUNT
    date                TRANSACTION_DATE            DATE
    currency            TRANSACTION_CURRENCY        CURRENCY
    ==================  ==========================  =====================================

    Amounts are signed from the seller's side: fees and refunds are negative, a refund's fee
    given back is positive.
    """

    values: Mapping[str, str]
    source_id: str | None
    external_reference: str | None
    order_id: str | None
    kind: str | None
    record_type: str | None
    payment_method: str | None
    payment_method_type: str | None
    currency: str | None
    gross_amount: Decimal | None
    fee_amount: Decimal | None
    marketplace_fee_amount: Decimal | None
    net_amount: Decimal | None
    real_amount: Decimal | None
    balance_amount: Decimal | None
    date: datetime | None
    settlement_date: datetime | None

    def amount(self, column: str) -> Decimal | None:
        """Column ``column`` as an exact ``Decimal`` (None when absent or empty)."""
        return _amount(self.values.get(column))

    def moment(self, column: str) -> datetime | None:
        """Column ``column`` as an aware datetime (None when absent or empty)."""
        return _moment(self.values.get(column))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> "ReportLine":
        def first(*columns: str) -> str | None:
            for column in columns:
                if values.get(column):
                    return values[column]
            return None

        def amount(*columns: str) -> Decimal | None:
            return _amount(first(*columns))

        net = amount("SETTLEMENT_NET_AMOUNT")
        if net is None and ("NET_CREDIT_AMOUNT" in values or "NET_DEBIT_AMOUNT" in values):
            credit, debit = amount("NET_CREDIT_AMOUNT"), amount("NET_DEBIT_AMOUNT")
            net = (credit or Decimal(0)) - (debit or Decimal(0))
        return cls(
            values=values,
            source_id=first("SOURCE_ID"),
            external_reference=first("EXTERNAL_REFERENCE"),
            order_id=first("ORDER_ID"),
            kind=first("TRANSACTION_TYPE", "DESCRIPTION"),
            record_type=first("RECORD_TYPE"),
            payment_method=first("PAYMENT_METHOD"),
            payment_method_type=first("PAYMENT_METHOD_TYPE"),
            currency=first("TRANSACTION_CURRENCY", "CURRENCY", "SETTLEMENT_CURRENCY"),
            gross_amount=amount("TRANSACTION_AMOUNT", "GROSS_AMOUNT"),
            fee_amount=amount("FEE_AMOUNT", "MP_FEE_AMOUNT"),
            marketplace_fee_amount=amount("MKP_FEE_AMOUNT"),
            net_amount=net,
            real_amount=amount("REAL_AMOUNT"),
            balance_amount=amount("BALANCE_AMOUNT"),
            date=_moment(first("TRANSACTION_DATE", "DATE")),
            settlement_date=_moment(first("SETTLEMENT_DATE")),
        )


def _amount(value: str | None) -> Decimal | None:
    if value is None or value.strip() == "":
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not an amount") from error


def _moment(value: str | None) -> datetime | None:
    if value is None or value.strip() == "":
        return None
    result = datetime.fromisoformat(value.strip())
    if result.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return result


def detect_separator(header: str) -> str:
    """The separator of a report's header line: the documented one it uses most."""
    return max(SEPARATORS, key=header.count)


def parse_report_csv(text: str, separator: str | None = None) -> list[ReportLine]:
    """The lines of a settlement or release report CSV (``separator`` found from the header
    when not given); ``ValueError`` for an amount or a date that is not one."""
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=separator or detect_separator(header))
    return [ReportLine.from_values(dict(row)) for row in reader if any(row.values())]


def _report_path(kind: ReportKind, *segments: str) -> str:
    path = f"/v1/account/{ReportKind(kind).value}"
    return "/".join([path, *(quote(segment, safe="") for segment in segments)])


class ReportsMixin:
    """The report endpoints of :class:`mpapi.MercadoPagoClient`."""

    _session: Session

    if TYPE_CHECKING:

        def _object(self, call: Call, parse: Callable[[JSON], T]) -> T: ...

        @staticmethod
        def _parse(call: Call, status: int, body: object, parse: Callable[[JSON], T]) -> T: ...

    def get_report_config(self, access_token: str, kind: ReportKind) -> ReportConfig:
        """``GET /v1/account/<report>/config`` (the defaults until one is created)."""
        call = Call("GET", _report_path(kind, "config"), access_token)
        return self._object(call, ReportConfig.from_json)

    def create_report_config(
        self, access_token: str, kind: ReportKind, config: ReportConfigRequest
    ) -> ReportConfig:
        """``POST /v1/account/<report>/config`` (201); ``Conflict`` when one exists."""
        call = Call("POST", _report_path(kind, "config"), access_token, config.to_json())
        return self._object(call, ReportConfig.from_json)

    def update_report_config(
        self, access_token: str, kind: ReportKind, config: ReportConfigRequest
    ) -> ReportConfig:
        """``PUT /v1/account/<report>/config``: change the fields given."""
        call = Call("PUT", _report_path(kind, "config"), access_token, config.to_json())
        return self._object(call, ReportConfig.from_json)

    def generate_report(
        self, access_token: str, kind: ReportKind, *, begin_date: datetime, end_date: datetime
    ) -> ReportTask:
        """``POST /v1/account/<report>`` (202): a report of the period between two aware
        datetimes, generated asynchronously: watch ``list_reports`` for its ``file_name``.

        ``ReportNotCreated`` for a 203 (documented for every site but MLB): nothing was created;
        ask again with the dates it indicates."""
        if begin_date.tzinfo is None or end_date.tzinfo is None:
            raise ValueError("begin_date and end_date must be timezone-aware")
        body = {"begin_date": _utc(begin_date), "end_date": _utc(end_date)}
        call = Call("POST", _report_path(kind), access_token, body)
        answer = self._session.send(call)
        if answer.status == NOT_CREATED:
            indicated = answer.body if isinstance(answer.body, dict) else {}
            raise ReportNotCreated(
                begin_date=moment(indicated.get("begin_date")),
                end_date=moment(indicated.get("end_date")),
            )
        return self._parse(call, answer.status, answer.body, ReportTask.from_json)

    def list_reports(self, access_token: str, kind: ReportKind) -> tuple[ReportTask, ...]:
        """``GET /v1/account/<report>/list``: the reports generated or pending."""
        call = Call("GET", _report_path(kind, "list"), access_token)
        answer = self._session.send(call)
        if not isinstance(answer.body, list):
            raise UnexpectedResponse(
                method=call.method, path=call.path, status=answer.status, body=answer.body
            )
        return tuple(
            self._parse(call, answer.status, item, ReportTask.from_json) for item in answer.body
        )

    def download_report(self, access_token: str, kind: ReportKind, file_name: str) -> str:
        """``GET /v1/account/<report>/<file_name>``: the report's CSV text."""
        call = Call("GET", _report_path(kind, file_name), access_token)
        answer = self._session.send(call)
        if not isinstance(answer.body, str):
            raise UnexpectedResponse(
                method=call.method, path=call.path, status=answer.status, body=answer.body
            )
        return answer.body

    def download_report_lines(
        self, access_token: str, kind: ReportKind, file_name: str
    ) -> list[ReportLine]:
        """The report's lines, read by :func:`parse_report_csv`."""
        return parse_report_csv(self.download_report(access_token, kind, file_name))

    def schedule_report(self, access_token: str, kind: ReportKind) -> ReportTask:
        """``POST /v1/account/<report>/schedule``: generate at the configured ``frequency``;
        the answer is the next scheduled report. ``Conflict`` when already scheduled."""
        call = Call("POST", _report_path(kind, "schedule"), access_token)
        return self._object(call, ReportTask.from_json)

    def unschedule_report(self, access_token: str, kind: ReportKind) -> ReportTask:
        """``DELETE /v1/account/<report>/schedule``: the next scheduled report, ``deleted``.
        ``NotFound`` when nothing is scheduled."""
        call = Call("DELETE", _report_path(kind, "schedule"), access_token)
        return self._object(call, ReportTask.from_json)


def _utc(value: datetime) -> str:
    """``2019-05-01T00:00:00Z``, the documented form."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
