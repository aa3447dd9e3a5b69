"""The admin's "Import from CSV": upload, progress, the per-row report, and who may see it."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from pos import imports
from pos.models import PointOfSale, PosImport, Store
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member, make_tenant
from tests.test_pos_import import COLUMNS, row

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:pos_pointofsale_import")


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English, whatever an earlier request left active."""
    with translation.override("en"):
        yield


@pytest.fixture
def seller():
    return make_connected_tenant(site="MLA")


@pytest.fixture
def manager(client, seller):
    user = make_member(seller, "manager")
    user.language = "en"  # the report is written in the uploader's language
    user.save(update_fields=["language"])
    client.force_login(user)
    return user


def excel_csv(rows: list[dict]) -> bytes:
    """What Excel writes in a Spanish locale: a BOM, semicolons and CRLF."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


@pytest.fixture
def upload(client, eager_celery, django_capture_on_commit_callbacks):
    """Posts a file to the import page; its task runs in-process once the request commits."""

    def post(data: bytes, name: str = "tiendas.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(IMPORT, {"file": SimpleUploadedFile(name, data, "text/csv")})

    return post


def status_url(pos_import: PosImport, page: str = "status") -> str:
    return reverse(f"admin:pos_pointofsale_import_{page}", args=[pos_import.pk])


def only_import(seller) -> PosImport:
    with tenant_scope(seller):
        return PosImport.objects.get()


def test_members_who_manage_pos_get_the_button_and_the_others_do_not(client, seller, manager):
    changelist = client.get(reverse("admin:pos_pointofsale_changelist"))
    assert f'href="{IMPORT}"' in changelist.text
    assert client.get(IMPORT).status_code == 200

    client.force_login(make_member(seller, "cashier"))
    changelist = client.get(reverse("admin:pos_pointofsale_changelist"))
    assert changelist.status_code == 200
    assert f'href="{IMPORT}"' not in changelist.text
    assert client.get(IMPORT).status_code == 403


def test_an_upload_is_imported_and_reported_row_by_row(client, seller, manager, upload):
    rows = [
        row(1, 1),
        row(1, 2, pos_name="Caja dos"),
        row(2, 1, latitude="", longitude=""),  # row 4
        row(3, 1, pos_external_id="S3-P1"),  # row 5
    ]

    response = upload(excel_csv(rows))

    pos_import = only_import(seller)
    assert response.status_code == 302
    assert response["Location"] == status_url(pos_import)
    assert pos_import.status == PosImport.Status.DONE
    assert (pos_import.done, pos_import.total) == (4, 4)  # S1, S3, S1P1, S1P2
    with tenant_scope(seller):
        assert set(Store.objects.values_list("external_id", flat=True)) == {"S1", "S3"}
        assert set(PointOfSale.objects.values_list("external_id", flat=True)) == {"S1P1", "S1P2"}

    page = client.get(status_url(pos_import))

    assert page.status_code == 200
    assert "<progress" not in page.text  # finished: the report instead
    counts = page.context["counts"]
    assert [number for _label, number in counts[0][1]] == [2, 0, 0, 1]  # stores
    assert [number for _label, number in counts[1][1]] == [2, 0, 0, 2]  # points of sale
    failed = [str(r) for r in page.context["results"] if r.outcome == "failed"]
    assert failed == [
        "Row 4: store S2: latitude and longitude are empty: give both, in decimal degrees (for "
        "example -34.603722 and -58.381592); Mercado Pago needs them to place the store on the "
        "map.",
        "Row 4: POS S2P1: its store is invalid",
        "Row 5: POS S3-P1: external_id: Use 1 to 39 letters and digits only (no spaces or "
        "symbols).",
    ]
    assert "Latitude and longitude are empty: give both" in page.text
    assert status_url(pos_import, "report") in page.text


def test_the_report_downloads_as_csv_with_the_uploads_separator(client, seller, manager, upload):
    upload(excel_csv([row(1, 1), row(2, None, latitude="")]))
    pos_import = only_import(seller)

    response = client.get(status_url(pos_import, "report"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["row", "kind", "external_id", "outcome", "reason"]
    assert lines[1:3] == [["2", "store", "S1", "created", ""], ["2", "pos", "S1P1", "created", ""]]
    assert lines[3][:4] == ["3", "store", "S2", "failed"]
    assert lines[3][4].startswith("latitude is empty: give both")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("Café".encode("latin-1"), "The file is not UTF-8 text."),
        (b"store_external_id;store_name\nS1;Uno\n", "Missing columns: street_name, street_number"),
        (";".join(COLUMNS).encode() + b"\r\n", "The file has no rows below its header."),
        (b"x" * (imports.MAX_FILE_BYTES + 1), "the most is 2.0"),
    ],
    ids=["latin-1", "columns", "no rows", "too big"],
)
def test_a_file_that_cannot_be_imported_is_refused_on_the_form(
    client, seller, manager, data, error, upload
):
    response = upload(data)

    assert response.status_code == 200
    assert error in response.text
    with tenant_scope(seller):
        assert not PosImport.objects.exists()


def test_a_seller_without_mercado_pago_is_told_before_anything_is_kept(client, upload):
    seller = make_tenant(site="MLA")
    client.force_login(make_member(seller, "owner"))

    response = upload(excel_csv([row(1, 1)]))

    assert "todavía no conectó una cuenta de Mercado Pago" in response.text  # in its Spanish
    with tenant_scope(seller):
        assert not PosImport.objects.exists()


def test_a_running_import_shows_its_progress_and_answers_it_as_json(client, seller, manager):
    with tenant_scope(seller):
        pos_import = PosImport.objects.create(
            tenant=seller, file_name="big.csv", content="", status="running", done=3, total=10
        )

    page = client.get(status_url(pos_import))
    progress = client.get(status_url(pos_import, "progress")).json()

    assert '<progress id="import-progress" max="10" value="3">' in page.text
    assert 'aria-live="polite"' in page.text
    assert "pos/import-progress.js" in page.text
    assert "Sent 3 of 10 stores and points of sale to Mercado Pago" in page.text
    assert progress == {
        "status": "running",
        "done": 3,
        "total": 10,
        "finished": False,
        "message": "Sent 3 of 10 stores and points of sale to Mercado Pago…",
    }


def test_another_seller_cannot_see_the_import(client, seller, manager, upload):
    upload(excel_csv([row(1, 1)]))
    pos_import = only_import(seller)
    other = make_connected_tenant(site="MLB")
    client.force_login(make_member(other, "owner"))

    for page in ("status", "progress", "report"):
        assert client.get(status_url(pos_import, page)).status_code == 404
    assert "tiendas.csv" not in client.get(IMPORT).text


def test_an_import_that_breaks_off_is_kept_as_failed_with_the_reason(client, seller, manager):
    with tenant_scope(seller):
        pos_import = PosImport.objects.create(
            tenant=seller, file_name="x.csv", content="a,b\n1,2\n"
        )

    with pytest.raises(ValidationError):
        imports.run(tenant=seller, pos_import=pos_import)

    with tenant_scope(seller):
        pos_import.refresh_from_db()
    assert pos_import.status == PosImport.Status.FAILED
    assert pos_import.error.startswith("Missing columns: store_external_id")
    page = client.get(status_url(pos_import))
    assert '<p id="import-status" role="status" class="errornote">' in page.text
    assert "The import stopped: Missing columns" in page.text


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_runs_the_import_in_the_sellers_scope(client, real_worker):
    seller = make_connected_tenant(site="MLA")
    user = make_member(seller, "owner")
    client.force_login(user)

    response = client.post(
        IMPORT, {"file": SimpleUploadedFile("w.csv", excel_csv([row(1, 1)]), "text/csv")}
    )

    pos_import = only_import(seller)
    assert response["Location"] == status_url(pos_import)

    def finished() -> bool:
        """the worker finished the import"""
        with tenant_scope(seller):
            return PosImport.objects.get(pk=pos_import.pk).finished

    real_worker.wait_until(finished)
    with tenant_scope(seller):
        pos_import.refresh_from_db()
        assert PointOfSale.objects.get().external_id == "S1P1"
    assert (pos_import.status, pos_import.done, pos_import.total) == ("done", 2, 2)
