"""``manage.py import_pos``: stores and POS from a CSV, synced, idempotent, with a report."""

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from merchant_platform.mercadopago import get_client
from pos.models import PointOfSale, Store, SyncState
from sandbox.seed import seller_access_token
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_tenant

pytestmark = pytest.mark.django_db

COLUMNS = [
    "store_external_id",
    "store_name",
    "street_name",
    "street_number",
    "city",
    "state",
    "latitude",
    "longitude",
    "reference",
    "business_hours",
    "pos_external_id",
    "pos_name",
    "fixed_amount",
    "category",
]
HOURS = json.dumps({"monday": [{"open": "09:00", "close": "18:00"}]})


@pytest.fixture
def seller():
    return make_connected_tenant(site="MLA")


def row(store: int, pos: int | None, **changes) -> dict:
    values = {
        "store_external_id": f"S{store}",
        "store_name": f"Store {store}",
        "street_name": "Av. Corrientes",
        "street_number": str(1000 + store),
        "city": "CABA",
        "state": "Buenos Aires",
        "latitude": "-34.603722",
        "longitude": "-58.381592",
        "reference": "",
        "business_hours": HOURS,
        "pos_external_id": "" if pos is None else f"S{store}P{pos}",
        "pos_name": "" if pos is None else f"Caja {pos}",
        "fixed_amount": "true",
        "category": "621102",
    }
    return {**values, **changes}


def write_csv(path, rows) -> str:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def run_import(seller, path) -> str:
    out = StringIO()
    call_command("import_pos", path, tenant=seller.slug, stdout=out, verbosity=0)
    return out.getvalue()


@pytest.mark.slow
def test_a_thousand_pos_import_then_a_second_run_reports_all_unchanged(seller, tmp_path):
    rows = [row(store, pos) for store in range(50) for pos in range(20)]
    path = write_csv(tmp_path / "pos.csv", rows)

    first = run_import(seller, path)

    assert "Stores: 50 created, 0 updated, 0 unchanged, 0 failed" in first
    assert "Points of sale: 1000 created, 0 updated, 0 unchanged, 0 failed" in first
    with tenant_scope(seller):
        assert PointOfSale.objects.filter(sync_state=SyncState.SYNCED).count() == 1000
        assert not PointOfSale.objects.filter(qr_code="").exists()
    with get_client() as mp:
        assert mp.search_pos(seller_access_token("MLA"), limit=1).total == 1000

    second = run_import(seller, path)

    assert "Stores: 0 created, 0 updated, 50 unchanged, 0 failed" in second
    assert "Points of sale: 0 created, 0 updated, 1000 unchanged, 0 failed" in second


def test_changed_rows_are_updated_and_only_they(seller, tmp_path):
    path = write_csv(tmp_path / "a.csv", [row(1, 1), row(1, 2), row(2, None)])
    run_import(seller, path)
    changed = [row(1, 1, pos_name="Caja principal"), row(1, 2), row(2, None, store_name="B")]

    report = run_import(seller, write_csv(tmp_path / "b.csv", changed))

    assert "Stores: 0 created, 1 updated, 1 unchanged, 0 failed" in report
    assert "Points of sale: 0 created, 1 updated, 1 unchanged, 0 failed" in report
    with tenant_scope(seller):
        assert PointOfSale.objects.get(external_id="S1P1").name == "Caja principal"
        assert Store.objects.get(external_id="S2").name == "B"


def test_bad_rows_are_reported_with_their_reasons(seller, tmp_path):
    rows = [
        row(1, 1),
        row(1, 2, pos_external_id="S1-P2"),  # line 3
        row(1, 3, pos_name="N" * 45),  # line 4
        row(1, 4, category="5611203"),  # line 5: Brazil's gastronomy
        row(2, 1, latitude="95"),  # line 6
        row(3, 1, business_hours='{"monday": [{"open": "18:00", "close": "09:00"}]}'),
        row(4, 1, fixed_amount="maybe"),  # line 8
        row(5, 1, latitude="40.4"),  # line 9: valid numbers, outside Argentina
        row(1, 1),  # line 10: the same POS again
    ]

    report = run_import(seller, write_csv(tmp_path / "bad.csv", rows))

    assert "Row 3: POS S1-P2: external_id:" in report
    assert "Row 4: POS S1P3: name:" in report
    assert "Row 5: POS S1P4: category: Category 5611203 is not valid in MLA" in report
    assert "Row 6: store S2: latitude:" in report
    assert "Row 7: store S3: business_hours: monday: 18:00 must be before 09:00." in report
    assert "Row 8: POS S4P1: fixed_amount: use true or false" in report
    assert "Row 9: store S5: latitude: Mercado Pago refused it" in report
    assert "Row 10: POS S1P1: appears on more than one row" in report
    assert "Row 2: POS S1P1: appears on more than one row" in report
    with tenant_scope(seller):
        assert set(Store.objects.values_list("external_id", flat=True)) == {"S1", "S4"}
        assert not PointOfSale.objects.exists()


def test_an_unknown_seller_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No seller"):
        call_command("import_pos", write_csv(tmp_path / "x.csv", []), tenant="nobody")


def test_a_seller_without_mercado_pago_is_refused(tmp_path):
    seller = make_tenant(site="MLA")
    with pytest.raises(CommandError, match="has not connected"):
        call_command("import_pos", write_csv(tmp_path / "x.csv", [row(1, 1)]), tenant=seller.slug)


def test_a_row_with_empty_coordinates_is_counted_as_failed_with_what_to_do(seller, tmp_path):
    rows = [row(1, 1), row(2, 1, latitude="", longitude=""), row(3, None, longitude="")]

    report = run_import(seller, write_csv(tmp_path / "empty.csv", rows))

    assert "Stores: 1 created, 0 updated, 0 unchanged, 2 failed" in report
    assert "Points of sale: 1 created, 0 updated, 0 unchanged, 1 failed" in report
    assert (
        "Row 3: store S2: latitude and longitude are empty: give both, in decimal degrees" in report
    )
    assert "Row 3: POS S2P1: its store is invalid" in report
    assert "Row 4: store S3: longitude is empty: give both" in report


def test_a_csv_saved_by_excel_in_spanish_imports(seller, tmp_path):
    """Semicolons, a UTF-8 BOM, decimal commas and a blank line at the end."""
    header = ";".join(COLUMNS)
    values = row(1, 1, store_name="Café Ñandú", latitude="-34,603722", longitude="-58,381592")
    line = ";".join(values[c] if c != "business_hours" else "" for c in COLUMNS)
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + f"{header}\r\n{line}\r\n" + ";" * 13 + "\r\n").encode())

    report = run_import(seller, str(path))

    assert "Stores: 1 created" in report
    assert "Points of sale: 1 created" in report
    with tenant_scope(seller):
        store = Store.objects.get(external_id="S1")
    assert store.name == "Café Ñandú"
    assert str(store.latitude) == "-34.603722"


def test_a_file_that_is_not_utf8_is_refused(seller, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(",".join(COLUMNS).encode() + "\nCafé".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        run_import(seller, str(path))
