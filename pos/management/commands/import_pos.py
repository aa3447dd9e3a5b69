"""``python manage.py import_pos --tenant <slug> FILE.csv``: stores and POS from a CSV."""

import csv
import json
from argparse import RawDescriptionHelpFormatter
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pos import services
from pos.models import PointOfSale, Store, SyncState
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

HELP = f"""Create or update one seller's stores and points of sale, in Mercado Pago too, from a CSV.

One row per point of sale, with its store's columns (repeat them on every POS of the store; a
row with empty POS columns is a store alone). Columns, with a header row:
  store:  {", ".join(list(STORE_COLUMNS)[:6])},
          {", ".join(list(STORE_COLUMNS)[6:])}
  POS:    {", ".join(POS_COLUMNS)}
latitude and longitude are decimal degrees; reference and business_hours may be empty;
business_hours is JSON, at most two ranges a day, e.g.
{{"monday": [{{"open": "09:00", "close": "13:00"}}, {{"open": "15:00", "close": "20:00"}}]}};
fixed_amount is true/false (empty: true); category is the MCC (may be empty).
Every row is validated first; valid rows are then synced, matched by external id: an unchanged
row makes no Mercado Pago call, so the import is safe to run again. The report counts created,
updated, unchanged and failed stores and POS, with the reason for each failed row."""


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, kind: str, outcome: str) -> None:
        self.counts[kind, outcome] += 1

    def fail(self, kind: str, line: int, external_id: str, reason: str) -> None:
        self.counts[kind, "failed"] += 1
        self.failures.append(f"line {line}: {kind} {external_id or '(no external id)'}: {reason}")


def _reason(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(
            prog_name, subcommand, formatter_class=RawDescriptionHelpFormatter, **kwargs
        )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8)")
        parser.add_argument("--tenant", required=True, help="the seller's slug")

    def handle(self, *args, file, tenant, verbosity, **options):
        seller = Tenant.objects.filter(slug=tenant).first()
        if seller is None:
            raise CommandError(f"No seller with slug {tenant!r}.")
        try:
            seller_access_token(seller)
        except NotConnected as error:
            raise CommandError(str(error)) from error
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        missing = [c for c in [*REQUIRED, *POS_COLUMNS] if rows and c not in rows[0]]
        if missing:
            raise CommandError(f"Missing columns: {', '.join(missing)}.")
        report = Report()
        with tenant_scope(seller):
            stores, points = self._validate(seller, rows, report)
            with tqdm(total=len(stores) + len(points), disable=verbosity == 0) as progress:
                synced = self._sync_stores(seller, stores, report, progress)
                self._sync_points(seller, points, synced, report, progress)
        self._print(report)

    # Validation ------------------------------------------------------------------------------

    def _validate(self, tenant, rows, report):
        """Check every row; returns the valid stores (by external id) and POS rows."""
        stores: dict[str, tuple[int, dict]] = {}
        points: list[tuple[int, dict, str]] = []
        bad_stores: set[str] = set()
        for line, row in enumerate(rows, start=2):
            row = {key: (value or "").strip() for key, value in row.items() if key}
            store_id = row.get("store_external_id", "")
            try:
                values = self._store_values(tenant, row)
            except ValidationError as error:
                report.fail("store", line, store_id, _reason(error))
                bad_stores.add(store_id)
                continue
            if store_id in stores and stores[store_id][1] != values:
                report.fail("store", line, store_id, "differs from an earlier row of this store")
                bad_stores.add(store_id)
                continue
            stores.setdefault(store_id, (line, values))
            if not row.get("pos_external_id") and not row.get("pos_name"):
                continue
            try:
                points.append((line, self._pos_values(tenant, row), store_id))
            except ValidationError as error:
                report.fail("POS", line, row.get("pos_external_id", ""), _reason(error))
        seen = Counter(values["external_id"] for _, values, _ in points)
        stores = {key: value for key, value in stores.items() if key not in bad_stores}
        valid = []
        for line, values, store_id in points:
            if seen[values["external_id"]] > 1:
                report.fail("POS", line, values["external_id"], "appears on more than one row")
            elif store_id not in stores:
                report.fail("POS", line, values["external_id"], f"store {store_id} is invalid")
            else:
                valid.append((line, values, store_id))
        return stores, valid

    @staticmethod
    def _store_values(tenant, row) -> dict:
        values = {name: row.get(column, "") for column, name in STORE_COLUMNS.items()}
        try:
            values["business_hours"] = json.loads(values["business_hours"] or "{}")
        except ValueError as error:
            raise ValidationError({"business_hours": "not valid JSON"}) from error
        store = Store(tenant=tenant, **values)
        store.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
        return {name: getattr(store, name) for name in STORE_COLUMNS.values()}

    @staticmethod
    def _pos_values(tenant, row) -> dict:
        values = {name: row.get(column, "") for column, name in POS_COLUMNS.items()}
        fixed_amount = values["fixed_amount"].lower()
        if fixed_amount not in TRUE | FALSE:
            raise ValidationError({"fixed_amount": "use true or false"})
        values["fixed_amount"] = fixed_amount in TRUE
        values["category"] = values["category"] or None
        pos = PointOfSale(tenant=tenant, **values)
        pos.full_clean(
            exclude=["tenant", "store"], validate_unique=False, validate_constraints=False
        )
        return {name: getattr(pos, name) for name in POS_COLUMNS.values()}

    # Sync ------------------------------------------------------------------------------------

    def _sync_stores(self, tenant, stores, report, progress) -> dict[str, Store]:
        existing = {s.external_id: s for s in Store.objects.filter(external_id__in=stores)}
        synced = {}
        for external_id, (line, values) in stores.items():
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
                report.fail("store", line, external_id, _reason(error))
            else:
                if store.sync_state == SyncState.FAILED:
                    report.fail("store", line, external_id, _retrying(store))
                else:
                    report.add("store", outcome)
                synced[external_id] = store
            progress.update()
        return synced

    def _sync_points(self, tenant, points, stores, report, progress) -> None:
        ids = [values["external_id"] for _, values, _ in points]
        existing = {p.external_id: p for p in PointOfSale.objects.filter(external_id__in=ids)}
        for line, values, store_id in points:
            external_id = values["external_id"]
            store = stores.get(store_id)
            pos = existing.get(external_id)
            try:
                if store is None:
                    raise ValidationError(f"its store {store_id} failed")
                if pos is None:
                    pos = services.create_pos(tenant=tenant, store=store, **values)
                    outcome = "created"
                elif _same(pos, {**values, "store": store}):
                    outcome = "unchanged"
                else:
                    pos = services.update_pos(tenant=tenant, pos=pos, store=store, **values)
                    outcome = "updated"
            except ValidationError as error:
                report.fail("POS", line, external_id, _reason(error))
            else:
                if pos.sync_state == SyncState.FAILED:
                    report.fail("POS", line, external_id, _retrying(pos))
                else:
                    report.add("POS", outcome)
            progress.update()

    def _print(self, report: Report) -> None:
        for kind in ("store", "POS"):
            counts = ", ".join(
                f"{report.counts[kind, outcome]} {outcome}"
                for outcome in ("created", "updated", "unchanged", "failed")
            )
            self.stdout.write(f"{'Stores' if kind == 'store' else 'Points of sale'}: {counts}")
        for failure in report.failures:
            self.stdout.write(self.style.ERROR(failure))


def _same(row: Store | PointOfSale, values: dict) -> bool:
    """Whether ``row`` already holds ``values`` and is in Mercado Pago: nothing to send."""
    return row.sync_state == SyncState.SYNCED and all(
        getattr(row, name) == value for name, value in values.items()
    )


def _retrying(row: Store | PointOfSale) -> str:
    return f"Mercado Pago failed ({row.sync_error}); a background task will retry"
