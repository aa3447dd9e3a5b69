"""A store's business hours edited as a week grid: the widget round-trips Mercado Pago's JSON,
each day says what is wrong with it, and the admin's store form saves the grid."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from pos import services
from pos.forms import BusinessHoursField
from pos.widgets import BusinessHoursWidget
from tenants.scope import tenant_scope
from tests.factories import make_connected_tenant, make_member
from tests.test_pos_web import STORE

HOURS = {
    "monday": [{"open": "09:00", "close": "13:00"}, {"open": "15:00", "close": "20:00"}],
    "wednesday": [{"open": "08:30", "close": "23:59"}],
    "saturday": [{"open": "00:00", "close": "02:00"}, {"open": "10:00", "close": "14:00"}],
}


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English, whatever an earlier request left active."""
    with translation.override("en"):
        yield


class FormData(HTMLParser):
    """What a browser posts for the rendered grid: the time inputs' values, ticked boxes."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag != "input":
            return
        self.inputs[attrs["id"]] = attrs
        if attrs["type"] == "time":
            self.data[attrs["name"]] = attrs.get("value") or ""
        elif attrs["type"] == "checkbox" and "checked" in attrs:
            self.data[attrs["name"]] = "on"


def rendered(value, name="business_hours") -> tuple[str, FormData]:
    html = BusinessHoursWidget().render(name, value, {"id": f"id_{name}"})
    parser = FormData()
    parser.feed(html)
    return html, parser


def posted(**days: tuple) -> dict[str, str]:
    """Form data of the grid: each day given as ranges ``("09:00", "13:00")``, or "closed"."""
    data = {}
    for day, ranges in days.items():
        if ranges == "closed":
            data[f"business_hours_{day}_closed"] = "on"
            continue
        for number, (opens, closes) in enumerate(ranges, start=1):
            data[f"business_hours_{day}_{number}_open"] = opens
            data[f"business_hours_{day}_{number}_close"] = closes
    return data


def clean(data: dict[str, str]) -> dict:
    field = BusinessHoursField()
    return field.clean(field.widget.value_from_datadict(data, {}, "business_hours"))


def test_stored_hours_render_as_the_grid_and_post_back_unchanged():
    _html, form = rendered(HOURS)

    assert form.data["business_hours_monday_2_open"] == "15:00"
    assert form.data["business_hours_saturday_1_close"] == "02:00"
    closed = {name.split("_")[2] for name in form.data if name.endswith("_closed")}
    assert closed == {"tuesday", "thursday", "friday", "sunday"}
    assert clean(form.data) == HOURS


@pytest.mark.parametrize("hours", [{}, None, ""], ids=["empty", "none", "empty text"])
def test_no_hours_show_every_day_closed_and_post_back_as_none(hours):
    _html, form = rendered(hours)

    assert sum(name.endswith("_closed") for name in form.data) == 7
    assert clean(form.data) == {}


def test_posted_days_become_mercado_pagos_json():
    data = posted(
        monday=[("9:00", "13:00"), ("15:00:00", "20:00")],  # as older browsers may send them
        tuesday="closed",
        friday=[("", ""), ("16:00", "22:00")],  # only the second range filled in
    )

    assert clean(data) == {
        "monday": [{"open": "09:00", "close": "13:00"}, {"open": "15:00", "close": "20:00"}],
        "friday": [{"open": "16:00", "close": "22:00"}],
    }


def test_a_day_closed_by_its_box_drops_out_and_so_does_one_without_hours():
    assert clean(posted(sunday="closed", saturday=[("", ""), ("", "")])) == {}


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (
            [("18:00", "09:00")],
            "Range 1: it closes at 09:00, which is not after it opens at 18:00.",
        ),
        (
            [("09:00", "09:00")],
            "Range 1: it closes at 09:00, which is not after it opens at 09:00.",
        ),
        (
            [("09:00", "14:00"), ("13:00", "18:00")],
            "The ranges 09:00 to 14:00 and 13:00 to 18:00 overlap",
        ),
        ([("15:00", "20:00"), ("09:00", "16:00")], "09:00 to 16:00 and 15:00 to 20:00 overlap"),
        ([("09:00", "")], "Range 1: give both the opening and the closing time."),
        ([("9am", "13:00")], "Range 1: use 24-hour times, like 09:00 or 18:30."),
    ],
    ids=["close before open", "close at open", "overlap", "overlap unsorted", "half", "not a time"],
)
def test_each_wrong_day_is_refused_and_says_what_is_wrong_on_its_own_line(day, problem):
    data = posted(monday=[("09:00", "13:00")], thursday=day)

    with pytest.raises(ValidationError) as refused:
        clean(data)
    field = BusinessHoursField()
    html, form = rendered(field.widget.value_from_datadict(data, {}, "business_hours"))

    assert refused.value.messages == ["Check the hours of Thursday: each day says what is wrong."]
    thursday = html.split("<legend>Thursday</legend>")[1].split("<legend>")[0]
    assert problem in thursday
    assert 'id="id_business_hours_thursday_problems"' in thursday
    assert form.inputs["id_business_hours_thursday_1_open"]["aria-invalid"] == "true"
    assert "aria-invalid" not in form.inputs["id_business_hours_monday_1_open"]
    assert "errorlist" not in html.split("<legend>Thursday</legend>")[0]  # Monday is fine


def test_a_day_ticked_closed_with_hours_is_refused_rather_than_losing_them():
    data = posted(monday=[("09:00", "13:00")]) | {"business_hours_monday_closed": "on"}

    with pytest.raises(ValidationError, match="Check the hours of Monday"):
        clean(data)
    html, _form = rendered(
        BusinessHoursField().widget.value_from_datadict(data, {}, "business_hours")
    )
    assert "It is marked closed but has hours: clear them, or untick Closed." in html


def test_every_input_has_its_own_label():
    html, form = rendered(HOURS)

    for input_id in form.inputs:
        assert f'<label for="{input_id}">' in html
    assert len(form.inputs) == 7 * 5  # a "Closed" box and four times a day


@pytest.mark.django_db
def test_the_store_admin_edits_hours_in_the_grid_and_saves_them(client):
    seller = make_connected_tenant(site="MLA")
    user = make_member(seller, "manager")
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)
    store = services.create_store(tenant=seller, **STORE, business_hours=HOURS)
    url = reverse("admin:pos_store_change", args=[store.pk])

    page = client.get(url)
    assert '<textarea name="business_hours"' not in page.text
    assert (
        'name="business_hours_monday_2_open" id="id_business_hours_monday_2_open" value="15:00"'
        in page.text
    )
    assert "pos/business-hours.js" in page.text

    _html, form = rendered(HOURS)
    fields = {name: str(STORE[name]) for name in services.STORE_FIELDS if name in STORE}
    wrong = form.data | {
        "business_hours_friday_1_open": "20:00",
        "business_hours_friday_1_close": "08:00",
    }
    wrong.pop("business_hours_friday_closed")
    refused = client.post(url, {"tenant": seller.pk, **fields, **wrong})
    assert refused.status_code == 200
    assert "Check the hours of Friday" in refused.text
    assert "it closes at 08:00, which is not after it opens at 20:00" in refused.text

    changed = form.data | {
        "business_hours_sunday_1_open": "10:00",
        "business_hours_sunday_1_close": "14:00",
    }
    changed.pop("business_hours_sunday_closed")
    saved = client.post(url, {"tenant": seller.pk, **fields, **changed})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    with tenant_scope(seller):
        store.refresh_from_db()
    assert store.business_hours == HOURS | {"sunday": [{"open": "10:00", "close": "14:00"}]}
    assert store.sync_state == "synced"
