"""Content-Security-Policy (django-csp) and Permissions-Policy on every page, and the pages
still working under the policy in a real browser (no violation reported)."""

import re
import uuid
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from oauth2_provider.models import get_application_model

from orders.models import Order
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_member, make_order, make_pos, make_tenant, make_user

Application = get_application_model()
PASSWORD = "test-pass-123"  # tests.factories.make_user's
DIRECTIVES = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {words[0]: words[1:] for words in directives if words}


def assert_headers(response, where: str) -> None:
    csp = policy(response)
    for directive, source in DIRECTIVES.items():
        assert csp.get(directive) == [source], (where, directive, csp)
    assert "'unsafe-inline'" not in csp["script-src"], where
    assert "'unsafe-eval'" not in csp["script-src"], where
    assert csp["form-action"][0] == "'self'", where
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions, (where, permissions)


def _routes(patterns=None, prefix: str = ""):
    """Every URL pattern of the project as a path, its parameters filled with sample values."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _sample_path(route: str, samples: dict[str, str]) -> str:
    route = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: samples.get(m.group(2), "1"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples.get(m.group(1), "x"), route)
    return "/" + route.lstrip("^").rstrip("$").replace("\\", "")


@pytest.mark.django_db
def test_every_url_answers_with_the_policies(client):
    tenant = make_tenant()
    pos = make_pos(tenant)
    order = make_order(tenant, pos, status="created", qr_data="000201")
    client.force_login(make_user(is_staff=True, is_superuser=True))
    samples = {
        "token": str(pos.display_token),
        "uid": str(order.uid),
        "pk": str(pos.pk),
        "object_id": str(tenant.pk),
        "uuid": str(uuid.uuid4()),
    }
    paths = sorted({_sample_path(route, samples) for route in _routes()})
    assert len(paths) > 100  # the admin's pages included

    for path in paths:
        assert_headers(client.get(path), path)
    assert_headers(client.post(reverse("admin:logout")), "logout")
    assert_headers(client.get("/no/such/page/"), "404")


@pytest.mark.django_db
def test_the_pages_people_use_answer_html_with_a_nonce(client, settings):
    tenant = make_tenant()
    pos = make_pos(tenant, qr_code="00020101021243650016COM.MERCADOLIBRE")
    order = make_order(tenant, pos, status="created", qr_data="000201")
    cashier = make_member(tenant, "cashier")
    staff = make_user(is_staff=True, is_superuser=True)
    pages = {
        "display": (None, reverse("display:page", args=[pos.display_token])),
        "sign-in": (None, reverse("admin:login")),
        "api docs": (None, reverse("api-docs")),
        "sandbox wallet": (None, "/sandbox/wallet/"),
        "sticker": (make_member(tenant, "manager"), reverse("pos:sticker", args=[pos.pk])),
        "cashier": (cashier, f"{reverse('cashier:page')}?order={order.uid}"),
        "two-factor": (staff, reverse("accounts:two-factor")),
    }
    for name, (user, url) in pages.items():
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, name
        assert_headers(response, name)
        inline = re.findall(r"<(?:script|style)\b(?![^>]*\bsrc=)[^>]*>", response.text)
        if name in {"display", "api docs", "sticker"}:
            assert inline, name
        for tag in inline:  # each inline script and style carries the response's nonce
            nonce = re.search(r'nonce="([^"]+)"', tag)
            assert nonce, (name, tag)
            assert f"'nonce-{nonce.group(1)}'" in policy(response)["script-src"], name
        client.logout()


@pytest.mark.django_db
def test_the_consent_page_may_post_to_the_apps_redirect_uri_only(client):
    tenant = make_tenant()
    client.force_login(make_member(tenant, "owner"))
    app = Application.objects.create(
        name="Partner",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://partner.example.com/callback",
    )
    query = {
        "client_id": app.client_id,
        "response_type": "code",
        "scope": "orders:read",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }

    registered = client.get(
        "/o/authorize/?"
        + urlencode(query | {"redirect_uri": "https://partner.example.com/callback"})
    )
    other = client.get(
        "/o/authorize/?" + urlencode(query | {"redirect_uri": "https://evil.example.net/cb"})
    )

    assert registered.status_code == 200
    assert "https://partner.example.com" in policy(registered)["form-action"]
    assert "https://evil.example.net" not in policy(other)["form-action"]


# In a real browser -----------------------------------------------------------------------------

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def browser_context(chromium, live_server):  # noqa: F811
    context = chromium.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    messages: list[str] = []
    context.on("console", lambda message: messages.append(message.text))
    context.on("page", lambda page: page.on("pageerror", lambda error: messages.append(str(error))))
    context.messages = messages
    yield context
    context.close()


def assert_no_violation(page, messages: list[str]) -> None:
    assert page.evaluate("window.cspViolations") == [], page.url
    blocked = [m for m in messages if "Content Security Policy" in m or "Permissions" in m]
    assert blocked == [], page.url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_work_in_chromium_under_the_policy(browser_context, live_server):
    tenant = make_tenant("Kiosco", site="MLA")
    pos = make_pos(tenant)
    order = make_order(tenant, pos, status="created", qr_data="00020101021243650016COM.MERCADO")
    make_member(tenant, "cashier", "csp-cashier")
    page = browser_context.new_page()
    messages = browser_context.messages

    # The customer display: its script counts down and polls state.json.
    with page.expect_request("**/state.json"):
        page.goto(reverse("display:page", args=[pos.display_token]))
    page.wait_for_function("document.getElementById('countdown').textContent.includes(':')")
    with tenant_scope(tenant):
        Order.objects.filter(pk=order.pk).update(status="expired", closed_at=timezone.now())
    page.wait_for_selector("#expired:not([hidden])")
    assert_no_violation(page, messages)

    # The sign-in, the admin and the cashier page, whose script polls the order's status.
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "csp-cashier")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/cashier/")  # where a cashier lands
    assert_no_violation(page, messages)
    page.goto("/admin/orders/order/")
    page.wait_for_selector("#result_list")
    assert_no_violation(page, messages)
    with tenant_scope(tenant):
        open_order = make_order(tenant, pos, status="created", qr_data="000201")
    status_url = reverse("cashier:status", args=[open_order.uid])
    with page.expect_request(f"**{status_url}"):
        page.goto(f"{reverse('cashier:page')}?order={open_order.uid}")
    assert_no_violation(page, messages)

    # The API's docs: Swagger UI renders the operations from the schema.
    page.goto(reverse("api-docs"))
    page.wait_for_selector(".opblock-tag")
    assert_no_violation(page, messages)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_consent_reaches_a_partner_on_another_origin(browser_context, live_server, settings):
    settings.OAUTH2_PROVIDER = settings.OAUTH2_PROVIDER | {
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"]
    }
    tenant = make_tenant()
    make_member(tenant, "owner", "csp-owner")
    callback = "https://partner.example.com/callback"
    app = Application.objects.create(
        name="Partner",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=callback,
    )
    page = browser_context.new_page()
    arrived: list[str] = []

    def partner(route):
        arrived.append(route.request.url)
        route.fulfill(status=200, body="partner", content_type="text/plain")

    page.route("https://partner.example.com/**", partner)
    query = urlencode(
        {
            "client_id": app.client_id,
            "response_type": "code",
            "scope": "orders:read",
            "redirect_uri": callback,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"/admin/login/?{urlencode({'next': f'/o/authorize/?{query}'})}")
    page.fill("#id_username", "csp-owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#authorizationForm")
    page.select_option("select[name=tenant]", str(tenant.pk))
    page.click("input[name=allow]")
    page.wait_for_url(f"{callback}?**")

    assert len(arrived) == 1
    assert "code=" in arrived[0]
    assert_no_violation(page, browser_context.messages)
