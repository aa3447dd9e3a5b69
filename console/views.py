"""The integrator's console for platform staff: the sellers (``/console/``, and as CSV) and the
operations health (``/console/health/``). Anyone else signed in gets 403; signed out, the admin's
sign-in page (``admin.site.admin_view`` wraps every view)."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from console import exports, health, selectors
from console.selectors import Problem, SellerRow, Stage
from merchant_platform.money import format_money, locale_for_request
from reports import selectors as report_selectors
from tenants.roles import sees_every_tenant
from tenants.scope import cross_tenant_scope
from tenants.sites import Site


class SellerFilters(forms.Form):
    """The list's filters, search and ordering, from the query string; a value it cannot read
    is left out."""

    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"))
    stage = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("Any stage")), *Stage.choices]
    )
    site = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("Any country")), *Site.choices]
    )
    problem = forms.ChoiceField(
        required=False,
        choices=[
            ("", gettext_lazy("With or without problems")),
            ("any", gettext_lazy("Any problem")),
            *Problem.choices,
        ],
    )
    o = forms.ChoiceField(
        required=False,
        choices=[(key, key) for name in selectors.ORDERINGS for key in (name, f"-{name}")],
    )

    def filters(self) -> dict[str, str]:
        """The ``selectors.sellers`` arguments the query string asks for."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        return {
            "search": data["q"],
            "stage": data["stage"],
            "site": data["site"],
            "problem": data["problem"],
            "ordering": data["o"] or "name",
        }


@dataclass(frozen=True)
class Link:
    label: str
    url: str


# Each problem count of a row: its words, and the admin list (with its filter) of those rows.
PROBLEM_LINKS = (
    (
        "failed_stores",
        ngettext_lazy("%(n)d store failed to sync", "%(n)d stores failed to sync", "n"),
        "pos_store",
        "sync_state__exact=failed",
    ),
    (
        "failed_pos",
        ngettext_lazy("%(n)d POS failed to sync", "%(n)d POS failed to sync", "n"),
        "pos_pointofsale",
        "sync_state__exact=failed",
    ),
    (
        "failed_notifications",
        ngettext_lazy("%(n)d notification failed", "%(n)d notifications failed", "n"),
        "orders_notification",
        "status__exact=failed",
    ),
    (
        "failed_deliveries",
        ngettext_lazy("%(n)d partner delivery failed", "%(n)d partner deliveries failed", "n"),
        "partners_webhookdelivery",
        "status__exact=failed",
    ),
    (
        "retrying_deliveries",
        ngettext_lazy("%(n)d partner delivery in retry", "%(n)d partner deliveries in retry", "n"),
        "partners_webhookdelivery",
        "status__exact=pending&attempt_count__gt=0",
    ),
    (
        "open_disputes",
        ngettext_lazy("%(n)d open dispute", "%(n)d open disputes", "n"),
        "disputes_dispute",
        "status__exact=opened",
    ),
)


def problem_links(row: SellerRow) -> list[Link]:
    """Each of the seller's problems, linked to the admin list filtered to it."""

    def changelist(name: str, query: str) -> str:
        return f"{reverse(f'admin:{name}_changelist')}?tenant__id__exact={row.tenant.pk}&{query}"

    links = [
        Link(words % {"n": getattr(row, count)}, changelist(name, query))
        for count, words, name, query in PROBLEM_LINKS
        if getattr(row, count)
    ]
    if row.needs_reconnect:
        links.append(
            Link(
                _("Mercado Pago needs reconnecting"),
                changelist("tenants_mercadopagocredential", "status__exact=needs_reconnect"),
            )
        )
    return links


@dataclass(frozen=True)
class ShownRow:
    """A seller's row with its amounts formatted for the viewer."""

    row: SellerRow
    change_url: str
    today_volume: str
    week_volume: str
    week_fees: str
    total_fees: str
    problems: list[Link]


def _shown(row: SellerRow, locale: str) -> ShownRow:
    def money(amount):
        return format_money(amount, row.currency, locale)

    return ShownRow(
        row,
        reverse("admin:tenants_tenant_change", args=[row.tenant.pk]),
        money(row.today_volume),
        money(row.week_volume),
        money(row.week_fees),
        money(row.total_fees),
        problem_links(row),
    )


def _ensure_staff(request: HttpRequest) -> None:
    if not sees_every_tenant(request.user):
        raise PermissionDenied


def _context(request: HttpRequest, title: str) -> dict:
    # No navigation sidebar: the wide table of sellers takes the whole width.
    return {**admin.site.each_context(request), "title": title, "is_nav_sidebar_enabled": False}


def sellers_view(request: HttpRequest) -> HttpResponse:
    """Every seller, one row each: filtered, searched, ordered and 50 to a page."""
    _ensure_staff(request)
    now = timezone.now()
    form = SellerFilters(request.GET)
    filters = form.filters()
    with cross_tenant_scope():
        sellers = selectors.sellers(now, **filters)
        page = Paginator(sellers, selectors.PER_PAGE).get_page(request.GET.get("page"))
        page_rows = selectors.rows(page.object_list, now)
    locale = locale_for_request(request)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **_context(request, _("Sellers")),
        "form": form,
        "page": page,
        "rows": [_shown(row, locale) for row in page_rows],
        "ordering": filters["ordering"],
        "query": query.urlencode(),
        "sortable": _sortable(request, filters["ordering"]),
    }
    return render(request, "console/sellers.html", context)


def _sortable(request: HttpRequest, ordering: str) -> dict[str, str]:
    """The query string that orders by each column (reversed when it is the current one)."""
    links = {}
    for key in selectors.ORDERINGS:
        query = request.GET.copy()
        query.pop("page", None)
        query["o"] = f"-{key}" if ordering == key else key
        links[key] = query.urlencode()
    return links


def sellers_csv_view(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV (every page)."""
    _ensure_staff(request)
    now = timezone.now()
    with cross_tenant_scope():
        sellers = selectors.sellers(now, **SellerFilters(request.GET).filters())
    return exports.csv_response(sellers, now)


def health_view(request: HttpRequest) -> HttpResponse:
    """The operations health: each check with its status and where to act."""
    _ensure_staff(request)
    with cross_tenant_scope():
        checks = health.health(timezone.now())
    context = {
        **_context(request, _("Operations health")),
        "checks": checks,
        "attention": [check for check in checks if check.needs_attention],
    }
    return render(request, "console/health.html", context)


def fees_view(request: HttpRequest) -> HttpResponse:
    """The marketplace fees earned per seller and month: recorded here, charged in Mercado
    Pago's settlement reports, and the difference."""
    _ensure_staff(request)
    with cross_tenant_scope():
        months = report_selectors.marketplace_fees()
    locale = locale_for_request(request)
    rows = [
        {
            "month": month,
            "change_url": reverse("admin:tenants_tenant_change", args=[month.tenant.pk]),
            **{
                name: format_money(getattr(month, name), month.currency, locale)
                for name in ("recorded", "reported", "given_back", "difference")
            },
        }
        for month in months
    ]
    context = {**_context(request, _("Marketplace fees")), "rows": rows}
    return render(request, "console/fees.html", context)
