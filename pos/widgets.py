"""A store's business hours as a week grid: Monday to Sunday, each closed or open in up to two
ranges, with plain ``<input type="time">`` fields (no script needed).

The grid is what the form posts: ``{day: {"closed": bool, "ranges": [[open, close], ...]}}``
with ``MAX_RANGES_PER_DAY`` ranges of strings, empty when not filled in. ``hours_from_grid``
turns a grid without problems into Mercado Pago's business hours
(``{"monday": [{"open": "09:00", "close": "13:00"}], ...}``, closed days left out) and
``grid_from_hours`` back.
"""

import json
import re

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from pos.validators import DAYS, MAX_RANGES_PER_DAY

DAY_LABELS = dict(zip(DAYS, (WEEKDAYS[number] for number in range(7)), strict=True))
_TIME = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>[0-5]\d)(:[0-5]\d(\.\d+)?)?$")

Grid = dict[str, dict]


def grid_from_hours(hours: dict | None) -> Grid:
    """The grid showing Mercado Pago's business hours ``hours`` (a day left out is closed)."""
    grid = {}
    for day in DAYS:
        ranges = [[r["open"], r["close"]] for r in (hours or {}).get(day, [])]
        blanks = [["", ""]] * (MAX_RANGES_PER_DAY - len(ranges))
        grid[day] = {"closed": not ranges, "ranges": ranges + blanks}
    return grid


def hours_from_grid(grid: Grid) -> dict:
    """Mercado Pago's business hours from a grid that ``grid_problems`` finds nothing wrong in."""
    hours = {}
    for day in DAYS:
        ranges = _filled(grid[day]["ranges"])
        if not grid[day]["closed"] and ranges:
            hours[day] = [{"open": _hhmm(o), "close": _hhmm(c)} for o, c in ranges]
    return hours


def grid_problems(grid: Grid) -> dict[str, list[str]]:
    """What is wrong with each day of ``grid``, by day (days without problems left out)."""
    problems = {day: _day_problems(grid[day]) for day in DAYS}
    return {day: messages for day, messages in problems.items() if messages}


def _day_problems(day: dict) -> list[str]:
    ranges = _filled(day["ranges"])
    if day["closed"]:
        closed_with_hours = _("It is marked closed but has hours: clear them, or untick Closed.")
        return [closed_with_hours] if ranges else []
    problems = []
    for number, (opens, closes) in enumerate(ranges, start=1):
        if not (opens and closes):
            problems.append(
                _("Range %(number)s: give both the opening and the closing time.")
                % {"number": number}
            )
        elif _hhmm(opens) is None or _hhmm(closes) is None:
            problems.append(
                _("Range %(number)s: use 24-hour times, like 09:00 or 18:30.") % {"number": number}
            )
        elif _hhmm(closes) <= _hhmm(opens):
            problems.append(
                _(
                    "Range %(number)s: it closes at %(close)s, which is not after it opens at "
                    "%(open)s. For hours past midnight, close at 23:59 and open at 00:00 the "
                    "next day."
                )
                % {"number": number, "open": _hhmm(opens), "close": _hhmm(closes)}
            )
    if not problems and len(ranges) == 2:
        first, second = sorted((_hhmm(o), _hhmm(c)) for o, c in ranges)
        if second[0] < first[1]:
            problems.append(
                _(
                    "The ranges %(open1)s to %(close1)s and %(open2)s to %(close2)s overlap: "
                    "the second must open after the first closes."
                )
                % {"open1": first[0], "close1": first[1], "open2": second[0], "close2": second[1]}
            )
    return problems


def _filled(ranges: list[list[str]]) -> list[list[str]]:
    return [[opens, closes] for opens, closes in ranges if opens or closes]


def _hhmm(value: str) -> str | None:
    """``value`` as 24-hour ``HH:MM`` (``9:00`` and ``09:00:00`` too), or None if not a time."""
    match = _TIME.match(value)
    if match is None or int(match["hour"]) > 23:
        return None
    return f"{int(match['hour']):02d}:{match['minute']}"


class BusinessHoursWidget(forms.Widget):
    """The week grid (``pos/widgets/business_hours.html``); its value is a ``Grid``."""

    template_name = "pos/widgets/business_hours.html"

    class Media:
        css = {"all": ["pos/business-hours.css"]}
        js = ["pos/business-hours.js"]

    def format_value(self, value) -> Grid:
        """The grid to show: posted data as posted, else stored hours (a dict or JSON text)."""
        if isinstance(value, str):
            value = json.loads(value or "{}")
        if value and all(isinstance(day, dict) for day in value.values()):
            return value  # already a grid: the posted data, shown again with its problems
        return grid_from_hours(value)

    def value_from_datadict(self, data, files, name) -> Grid:
        return {
            day: {
                "closed": bool(data.get(f"{name}_{day}_closed")),
                "ranges": [
                    [
                        data.get(f"{name}_{day}_{number}_open", "").strip(),
                        data.get(f"{name}_{day}_{number}_close", "").strip(),
                    ]
                    for number in range(1, MAX_RANGES_PER_DAY + 1)
                ],
            }
            for day in DAYS
        }

    def value_omitted_from_data(self, data, files, name) -> bool:
        return not any(key.startswith(f"{name}_") for key in data)

    def id_for_label(self, id_):
        """None: the field's label names the whole grid, whose inputs have labels of their own."""
        return None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        grid = context["widget"]["value"]
        problems = grid_problems(grid)
        base_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["days"] = [
            {
                "label": DAY_LABELS[day],
                "closed": grid[day]["closed"],
                "closed_name": f"{name}_{day}_closed",
                "id": f"{base_id}_{day}",
                "problems": problems.get(day, []),
                "ranges": [
                    {
                        "number": number,
                        "open": opens,
                        "close": closes,
                        "open_name": f"{name}_{day}_{number}_open",
                        "close_name": f"{name}_{day}_{number}_close",
                    }
                    for number, (opens, closes) in enumerate(grid[day]["ranges"], start=1)
                ],
            }
            for day in DAYS
        ]
        return context
