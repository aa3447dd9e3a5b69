"""``python manage.py import_pos --tenant <slug> FILE.csv``: stores and POS from a CSV."""

from argparse import RawDescriptionHelpFormatter

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pos import imports
from tenants.models import Tenant
from tenants.services import NotConnected, seller_access_token

STORE_COLUMNS, POS_COLUMNS = list(imports.STORE_COLUMNS), list(imports.POS_COLUMNS)
HELP = f"""Create or update one seller's stores and points of sale, in Mercado Pago too, from a CSV.

One row per point of sale, with its store's columns (repeat them on every POS of the store; a
row with empty POS columns is a store alone). Columns, with a header row, separated by commas
or semicolons (as Excel writes CSV in Spanish and Portuguese), in UTF-8 with or without a BOM:
  store:  {", ".join(STORE_COLUMNS[:6])},
          {", ".join(STORE_COLUMNS[6:])}
  POS:    {", ".join(POS_COLUMNS)}
latitude and longitude are decimal degrees (a decimal comma is fine), both required;
reference and business_hours may be empty; business_hours is JSON, at most two ranges a day,
e.g. {{"monday": [{{"open": "09:00", "close": "13:00"}}, {{"open": "15:00", "close": "20:00"}}]}};
fixed_amount is true/false (empty: true); category is the MCC (may be empty).
Every row is validated first; valid rows are then synced, matched by external id: an unchanged
row makes no Mercado Pago call, so the import is safe to run again. The report counts created,
updated, unchanged and failed stores and POS, with the reason for each failed row."""


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
            with open(file, "rb") as handle:
                rows = imports.read_csv(imports.decode(handle.read()))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        with ProgressBar(disable=verbosity == 0) as progress:
            report = imports.import_rows(tenant=seller, rows=rows, on_progress=progress.show)
        self._print(report)

    def _print(self, report: imports.Report) -> None:
        counts = report.counts
        for kind, title in (("store", "Stores"), ("pos", "Points of sale")):
            line = ", ".join(f"{counts[kind, outcome]} {outcome}" for outcome in imports.OUTCOMES)
            self.stdout.write(f"{title}: {line}")
        for failure in report.failures:
            self.stdout.write(self.style.ERROR(str(failure)))


class ProgressBar:
    """A tqdm bar on stderr, made once the import knows how many stores and POS it sends."""

    def __init__(self, *, disable: bool) -> None:
        self.disable = disable
        self.bar: tqdm | None = None

    def show(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, disable=self.disable)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.close()
