"""The bulk import of a seller's stores and points of sale from a CSV file (docs/pos.md).

``manage.py import_pos`` and the admin's "Import from CSV" page share it. Every row is validated
first; valid rows are then saved through ``pos.services`` (and so synced with Mercado Pago),
matched by external id: an unchanged row makes no Mercado Pago call, so an import is safe to run
again. The report has one entry per store and POS of each row: created, updated, unchanged, or
failed with the reason.
"""

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pos import services
from pos.models import PointOfSale, PosImport, Store, SyncState
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tenants.services import NotConnected, seller_access_token

STORE_COLUMNS = {
    "store_external_id": "external_id",
    "store_name": "name",
    "street_name": "street_name",
    "street_number": "street_number",
    "city": "city",
    "state": "state",
    "latitude": "latitude",
    "longitude": "longitude",
    "reference": "reference",
    "business_hours": "business_hours",
}
POS_COLUMNS = {
    "pos_external_id": "external_id",
    "pos_name": "name",
    "fixed_amount": "fixed_amount",
    "category": "category",
}
REQUIRED = [c for c in STORE_COLUMNS if c not in ("reference", "business_hours")]
TRUE, FALSE = {"true", "1", "yes", ""}, {"false", "0", "no"}
MAX_FILE_BYTES = 2 * 1024 * 1024  # about 8,000 rows
OUTCOMES = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "unchanged": gettext_lazy("unchanged"),
    "failed": gettext_lazy("failed"),
}
KINDS = {"store": gettext_lazy("store"), "pos": gettext_lazy("POS")}

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as the valid stores and POS are sent to Mercado Pago."""


# The file ------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The text of an uploaded CSV: UTF-8, with or without the BOM that Excel writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            _('The file is not UTF-8 text. In Excel, save it as "CSV UTF-8".'), code="encoding"
        ) from error


def separator(text: str) -> str:
    """The file's separator: a semicolon (as Excel writes CSV in Spanish and Portuguese) when its
    header has more semicolons than commas, else a comma."""
    header = text.partition("\n")[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of a CSV with a header row; refuses a file without the columns or without rows."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator(text))
    reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in [*REQUIRED, *POS_COLUMNS] if c not in reader.fieldnames]
    if missing:
        raise ValidationError(
            _("Missing columns: %(columns)s."),
            code="columns",
            params={"columns": ", ".join(missing)},
        )
    rows = list(reader)
    if not rows:
        raise ValidationError(_("The file has no rows below its header."), code="empty")
    return rows


# The report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowResult:
    """What one row did to its store or its POS."""

    row: int  # numbered as a spreadsheet numbers it: the header is row 1
    kind: str  # "store" or "pos"
    external_id: str
    outcome: str  # one of OUTCOMES
    reason: str = ""

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def outcome_label(self) -> str:
        return OUTCOMES[self.outcome]

    def __str__(self) -> str:
        return _("Row %(row)s: %(kind)s %(external_id)s: %(what)s") % {
            "row": self.row,
            "kind": self.kind_label,
            "external_id": self.external_id or _("(no external id)"),
            "what": self.reason or self.outcome_label,
        }


@dataclass
class Report:
    results: list[RowResult] = field(default_factory=list)

    def add(self, row: int, kind: str, external_id: str, outcome: str) -> None:
        self.results.append(RowResult(row, kind, external_id, outcome))

    def fail(self, row: int, kind: str, external_id: str, reason: str) -> None:
        self.results.append(RowResult(row, kind, external_id, "failed", reason))

    @property
    def counts(self) -> Counter:
        """How many stores and POS had each outcome, by ``(kind, outcome)``."""
        return Counter((result.kind, result.outcome) for result in self.results)

    @property
    def failures(self) -> list[RowResult]:
        return [result for result in self.results if result.outcome == "failed"]

    def as_json(self) -> list[dict]:
        return [asdict(result) for result in sorted(self.results, key=lambda r: r.row)]

    @classmethod
    def from_json(cls, results: list[dict]) -> "Report":
        return cls([RowResult(**result) for result in results])


def report_csv(pos_import: PosImport) -> str:
    """The per-row report as CSV, with the uploaded file's separator (Excel opens it as it
    opened the upload)."""
    out = io.StringIO()
    out.write("\ufeff")  # the BOM tells Excel that the file is UTF-8
    writer = csv.writer(out, delimiter=separator(pos_import.content))
    writer.writerow(["row", "kind", "external_id", "outcome", "reason"])
    for result in Report.from_json(pos_import.results).results:
        writer.writerow(
            [result.row, result.kind, result.external_id, result.outcome, result.reason]
        )
    return out.getvalue()


# The import ----------------------------------------------------------------------------------


def import_rows(
    *, tenant: Tenant, rows: list[dict[str, str]], on_progress: Progress | None = None
) -> Report:
    """Validate every row, then create or update the valid stores and POS, in Mercado Pago too.

    ``on_progress`` is told how many of the valid stores and POS have been sent.
    """
    report = Report()
    with tenant_scope(tenant):
        stores, points = _validate(tenant, rows, report)
        total, done = len(stores) + len(points), 0

        def step() -> None:
            nonlocal done
            done += 1
            if on_progress is not None:
                on_progress(done, total)

        if on_progress is not None:
            on_progress(0, total)
        synced = _sync_stores(tenant, stores, report, step)
        _sync_points(tenant, points, synced, report, step)
    report.results.sort(key=lambda result: result.row)
    return report


def start(*, tenant: Tenant, user: AbstractBaseUser, file_name: str, text: str) -> PosImport:
    """Keep an uploaded CSV and import it in the background (``pos.run_import``), in the
    uploader's current language."""
    from pos import tasks  # tasks call this module

    try:
        seller_access_token(tenant)
    except NotConnected as error:
        raise ValidationError(str(error), code="not_connected") from error
    with tenant_scope(tenant):
        pos_import = PosImport.objects.create(
            tenant=tenant, created_by=user, file_name=file_name[:255], content=text
        )
    language = translation.get_language()
    transaction.on_commit(
        lambda: tasks.run_import.delay(
            tenant_id=tenant.pk, import_id=pos_import.pk, language=language
        ),
        robust=True,
    )
    return pos_import


def run(*, tenant: Tenant, pos_import: PosImport) -> PosImport:
    """Import an upload's rows, keeping its progress after each store and POS and then its
    report; an import that breaks off is kept as failed, with the reason."""
    with tenant_scope(tenant):
        rows = PosImport.objects.filter(pk=pos_import.pk)

        def save_progress(done: int, total: int) -> None:
            rows.update(done=done, total=total)

        rows.update(status=PosImport.Status.RUNNING)
        try:
            report = import_rows(
                tenant=tenant, rows=read_csv(pos_import.content), on_progress=save_progress
            )
        except Exception as error:
            reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            rows.update(status=PosImport.Status.FAILED, error=reason, finished_at=timezone.now())
            raise
        rows.update(
            status=PosImport.Status.DONE, results=report.as_json(), finished_at=timezone.now()
        )
        pos_import.refresh_from_db()
    return pos_import


# Validation ----------------------------------------------------------------------------------


def _validate(tenant: Tenant, rows: list[dict], report: Report):
    """Check every row; returns the valid stores (by external id) and POS rows."""
    stores: dict[str, tuple[int, dict]] = {}
    points: list[tuple[int, dict, str]] = []
    bad_stores: set[str] = set()
    for number, row in enumerate(rows, start=2):
        row = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(row.values()):
            continue  # a blank line (Excel writes ";;;" for one): nothing to import
        store_id = row.get("store_external_id", "")
        has_pos = bool(row.get("pos_external_id") or row.get("pos_name"))
        try:
            values = _store_values(tenant, row)
            if store_id in stores and stores[store_id][1] != values:
                raise ValidationError(_("differs from an earlier row of this store"))
        except ValidationError as error:
            report.fail(number, "store", store_id, _reason(error))
            bad_stores.add(store_id)
            if has_pos:  # counted too, never left out
                report.fail(
                    number, "pos", row.get("pos_external_id", ""), _("its store is invalid")
                )
            continue
        stores.setdefault(store_id, (number, values))
        if not has_pos:
            continue
        try:
            points.append((number, _pos_values(tenant, row), store_id))
        except ValidationError as error:
            report.fail(number, "pos", row.get("pos_external_id", ""), _reason(error))
    seen = Counter(values["external_id"] for _row, values, _store in points)
    stores = {key: value for key, value in stores.items() if key not in bad_stores}
    valid = []
    for number, values, store_id in points:
        if seen[values["external_id"]] > 1:
            report.fail(number, "pos", values["external_id"], _("appears on more than one row"))
        elif store_id not in stores:
            report.fail(
                number,
                "pos",
                values["external_id"],
                _("store %(store)s is invalid") % {"store": store_id},
            )
        else:
            valid.append((number, values, store_id))
    return stores, valid


def _store_values(tenant: Tenant, row: dict) -> dict:
    values = {name: row.get(column, "") for column, name in STORE_COLUMNS.items()}
    _check_coordinates(values)
    try:
        values["business_hours"] = json.loads(values["business_hours"] or "{}")
    except ValueError as error:
        raise ValidationError({"business_hours": _("not valid JSON")}) from error
    store = Store(tenant=tenant, **values)
    store.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    return {name: getattr(store, name) for name in STORE_COLUMNS.values()}


def _check_coordinates(values: dict) -> None:
    """Refuse empty coordinates with what to do (Mercado Pago needs them to place the store and
    the platform does not geocode addresses); take a decimal comma, as Excel writes one in
    Spanish and Portuguese."""
    empty = [name for name in ("latitude", "longitude") if not values[name]]
    if empty:
        what = (
            _("latitude and longitude are empty")
            if len(empty) == 2
            else _("%(coordinate)s is empty") % {"coordinate": empty[0]}
        )
        raise ValidationError(
            _(
                "%(what)s: give both, in decimal degrees (for example -34.603722 and "
                "-58.381592); Mercado Pago needs them to place the store on the map."
            )
            % {"what": what},
            code="empty_coordinates",
        )
    for name in ("latitude", "longitude"):
        if values[name].count(",") == 1 and "." not in values[name]:
            values[name] = values[name].replace(",", ".")


def _pos_values(tenant: Tenant, row: dict) -> dict:
    values = {name: row.get(column, "") for column, name in POS_COLUMNS.items()}
    fixed_amount = values["fixed_amount"].lower()
    if fixed_amount not in TRUE | FALSE:
        raise ValidationError({"fixed_amount": _("use true or false")})
    values["fixed_amount"] = fixed_amount in TRUE
    values["category"] = values["category"] or None
    pos = PointOfSale(tenant=tenant, **values)
    pos.full_clean(exclude=["tenant", "store"], validate_unique=False, validate_constraints=False)
    return {name: getattr(pos, name) for name in POS_COLUMNS.values()}


def _reason(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.message_dict.items())
    return " ".join(error.messages)


# Sync ----------------------------------------------------------------------------------------


def _sync_stores(tenant: Tenant, stores: dict, report: Report, step) -> dict[str, Store]:
    existing = {s.external_id: s for s in Store.objects.filter(external_id__in=stores)}
    synced = {}
    for external_id, (number, values) in stores.items():
        store = existing.get(external_id)
        try:
            if store is None:
                store = services.create_store(tenant=tenant, **values)
                outcome = "created"
            elif _same(store, values):
                outcome = "unchanged"
            else:
                store = services.update_store(tenant=tenant, store=store, **values)
                outcome = "updated"
        except ValidationError as error:
            report.fail(number, "store", external_id, _reason(error))
        else:
            if store.sync_state == SyncState.FAILED:
                report.fail(number, "store", external_id, _retrying(store))
            else:
                report.add(number, "store", external_id, outcome)
            synced[external_id] = store
        step()
    return synced


def _sync_points(tenant: Tenant, points: list, stores: dict, report: Report, step) -> None:
    ids = [values["external_id"] for _row, values, _store in points]
    existing = {p.external_id: p for p in PointOfSale.objects.filter(external_id__in=ids)}
    for number, values, store_id in points:
        external_id = values["external_id"]
        store = stores.get(store_id)
        pos = existing.get(external_id)
        try:
            if store is None:
                raise ValidationError(_("its store %(store)s failed") % {"store": store_id})
            if pos is None:
                pos = services.create_pos(tenant=tenant, store=store, **values)
                outcome = "created"
            elif _same(pos, {**values, "store": store}):
                outcome = "unchanged"
            else:
                pos = services.update_pos(tenant=tenant, pos=pos, store=store, **values)
                outcome = "updated"
        except ValidationError as error:
            report.fail(number, "pos", external_id, _reason(error))
        else:
            if pos.sync_state == SyncState.FAILED:
                report.fail(number, "pos", external_id, _retrying(pos))
            else:
                report.add(number, "pos", external_id, outcome)
        step()


def _same(row: Store | PointOfSale, values: dict) -> bool:
    """Whether ``row`` already holds ``values`` and is in Mercado Pago: nothing to send."""
    return row.sync_state == SyncState.SYNCED and all(
        getattr(row, name) == value for name, value in values.items()
    )


def _retrying(row: Store | PointOfSale) -> str:
    return _("Mercado Pago failed (%(error)s); a background task will retry") % {
        "error": row.sync_error
    }
