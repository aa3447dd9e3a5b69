"""The OAuth2 provider, driven by a real OAuth2 client library (authlib) against the running
server, and the API called with the tokens it issues.

Authorization code with PKCE: a seller's owner signs in through the admin login form in an HTTP
client that keeps cookies (a browser without JavaScript), follows authlib's authorization URL to
the consent page, picks the seller and allows; the partner app exchanges the code with its code
verifier. Client credentials: an app installed on one seller gets a token with its secret.

The redirect URI is an https URL of the partner (the settings allow only https redirect URIs):
the browser never follows it, the partner app reads the code from the redirect's ``Location``.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from oauth2_provider.models import get_application_model

from partners.models import PartnerGrant
from partners.services import ConsentRefused, install_application, record_consent, revoke_grant
from tenants.models import Tenant
from tenants.roles import Role
from tenants.scope import tenant_scope
from tenants.services import add_member
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads committed rows

Application = get_application_model()
REDIRECT_URI = "https://partner.example.com/callback"
PASSWORD = "test-pass-123"  # tests.factories.make_user's


# A browser without JavaScript ------------------------------------------------------------------


@dataclass
class Form:
    """The inputs of one HTML form: hidden and text values, submit buttons, select options."""

    values: dict[str, str] = field(default_factory=dict)
    submits: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.form: Form | None = None
        self._inside = False
        self._select: str | None = None  # the name of the select being read
        self._option: str | None = None  # the value of the option whose text comes next

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("id") == self.form_id:
            self.form, self._inside = Form(), True
        elif not self._inside:
            return
        elif tag == "input" and attributes.get("type") == "submit":
            self.form.submits[attributes.get("name", "")] = attributes.get("value", "")
        elif tag == "input" and "name" in attributes:
            self.form.values[attributes["name"]] = attributes.get("value", "")
        elif tag == "select":
            self._select = attributes["name"]
            self.form.options[self._select] = []
        elif tag == "option" and self._select:
            self._option = attributes.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self.form.options[self._select].append((self._option, data.strip()))
            self._option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None


def form_of(page: str, form_id: str) -> Form:
    parser = _FormParser(form_id)
    parser.feed(page)
    assert parser.form is not None, f"no form #{form_id} on the page"
    return parser.form


class Browser:
    """A person's browser: keeps cookies, follows redirects on the platform, submits forms."""

    def __init__(self, server: str) -> None:
        self.http = httpx.Client(base_url=server)

    def open(self, url: str) -> httpx.Response:
        """Open ``url`` and follow redirects that stay on the platform."""
        response = self.http.get(url)
        while response.is_redirect and self._on_the_platform(response.headers["Location"]):
            response = self.http.get(response.headers["Location"])
        return response

    def sign_in(self, login_page: httpx.Response, username: str) -> httpx.Response:
        """Fill in the admin login form and follow where it leads on the platform."""
        form = form_of(login_page.text, "login-form")
        data = {**form.values, "username": username, "password": PASSWORD}
        response = self.http.post(str(login_page.url), data=data)
        assert response.is_redirect, "the login form did not accept the password"
        return self.open(response.headers["Location"])

    def submit(self, page: httpx.Response, form_id: str, **fields: str) -> httpx.Response:
        """Post a form of ``page`` to its page's URL with ``fields`` set (no redirect followed)."""
        return self.http.post(str(page.url), data={**form_of(page.text, form_id).values, **fields})

    def _on_the_platform(self, location: str) -> bool:
        return location.startswith("/") or location.startswith(str(self.http.base_url))


# The partner app ------------------------------------------------------------------------------


@dataclass
class PartnerApp:
    """A partner app's side of the authorization code flow with PKCE, on authlib."""

    server: str
    application: Application
    client: OAuth2Client
    verifier: str = ""

    @property
    def token_url(self) -> str:
        return f"{self.server}/o/token/"

    def authorization_url(self, scope: str = "orders:read pos:read") -> str:
        self.verifier = generate_token(64)
        url, _state = self.client.create_authorization_url(
            f"{self.server}/o/authorize/", code_verifier=self.verifier, scope=scope
        )
        return url

    def fetch_token(self, redirect: str, verifier: str | None = None) -> dict:
        return self.client.fetch_token(
            self.token_url,
            authorization_response=redirect,
            code_verifier=verifier or self.verifier,
        )

    def acting_tenant(self) -> httpx.Response:
        return self.client.get(f"{self.server}/api/v1/tenant")


@pytest.fixture
def server(live_server) -> str:
    return live_server.url


@pytest.fixture
def partner(server) -> PartnerApp:
    """A public partner app (a native POS app: no secret, PKCE proves the code is its own)."""
    application = Application.objects.create(
        name="Caja Rápida POS",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    client = OAuth2Client(
        client_id=application.client_id,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    yield PartnerApp(server, application, client)
    client.close()


@pytest.fixture
def browser(server) -> Browser:
    browser = Browser(server)
    yield browser
    browser.http.close()


def consent_page(browser: Browser, partner: PartnerApp, username: str, **scope) -> httpx.Response:
    """The consent page, reached from the partner's authorization URL through the login form."""
    login_page = browser.open(partner.authorization_url(**scope))
    assert urlsplit(str(login_page.url)).path == "/admin/login/"
    page = browser.sign_in(login_page, username)
    assert page.status_code == 200, page.text
    assert urlsplit(str(page.url)).path == "/o/authorize/"
    return page


def allow(browser: Browser, page: httpx.Response, tenant: Tenant) -> str:
    """Allow on the consent page for ``tenant``; the redirect to the partner app."""
    response = browser.submit(page, "authorizationForm", tenant=str(tenant.pk), allow="Allow")
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def authorized(browser, partner, tenant, username) -> dict:
    """The whole authorization code flow: a token of ``partner`` for ``tenant``."""
    redirect = allow(browser, consent_page(browser, partner, username), tenant)
    return partner.fetch_token(redirect)


# Authorization code with PKCE -----------------------------------------------------------------


def test_an_owner_connects_a_partner_app_and_its_tokens_act_for_that_seller(
    browser, partner, tenant_a, owner_a
):
    page = consent_page(browser, partner, owner_a.username)

    assert "Let Caja Rápida POS act for a seller?" in page.text
    assert form_of(page.text, "authorizationForm").options["tenant"] == [
        (str(tenant_a.pk), "Seller A")
    ]
    assert "See orders, their payments, refunds and QR codes" in page.text
    assert "See points of sale and their fixed QR codes" in page.text
    assert "Create, cancel and refund orders" not in page.text  # not asked for

    redirect = allow(browser, page, tenant_a)
    assert redirect.startswith(f"{REDIRECT_URI}?")
    assert set(query_of(redirect)) >= {"code", "state", "iss"}
    token = partner.fetch_token(redirect)

    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"orders:read", "pos:read"}
    answer = partner.acting_tenant()
    assert answer.status_code == 200
    assert answer.json()["slug"] == tenant_a.slug
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get(application=partner.application)
    assert (grant.granted_by, grant.scopes) == (owner_a, {"orders:read", "pos:read"})

    refreshed = partner.client.refresh_token(partner.token_url)

    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    answer = partner.acting_tenant()  # with the new token
    assert answer.status_code == 200
    assert answer.json()["slug"] == tenant_a.slug
    previous = httpx.get(  # valid until rotation's grace ends (tests/api/test_refresh_grace.py)
        f"{partner.server}/api/v1/tenant",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert previous.status_code == 200


def test_a_confidential_app_exchanges_its_code_with_its_secret_too(
    server, browser, tenant_a, owner_a
):
    application = Application(
        name="Tienda Online",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    secret = application.client_secret  # in clear until saved, then hashed
    application.save()
    client = OAuth2Client(
        client_id=application.client_id,
        client_secret=secret,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    with client:
        partner = PartnerApp(server, application, client)
        authorized(browser, partner, tenant_a, owner_a.username)

        assert partner.acting_tenant().json()["slug"] == tenant_a.slug


def test_a_token_without_the_endpoints_scope_is_403(browser, partner, tenant_a, owner_a):
    authorized(browser, partner, tenant_a, owner_a.username)  # orders:read pos:read

    assert partner.client.get(f"{partner.server}/api/v1/pos").status_code == 200
    refused = partner.client.get(f"{partner.server}/api/v1/stores")

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"


def test_a_wrong_code_verifier_gets_no_token(browser, partner, tenant_a, owner_a):
    redirect = allow(browser, consent_page(browser, partner, owner_a.username), tenant_a)

    with pytest.raises(OAuthError) as refused:
        partner.fetch_token(redirect, verifier=generate_token(64))

    assert refused.value.error == "invalid_grant"


def test_a_code_is_exchanged_once(browser, partner, tenant_a, owner_a):
    redirect = allow(browser, consent_page(browser, partner, owner_a.username), tenant_a)
    partner.fetch_token(redirect)

    with pytest.raises(OAuthError) as refused:
        partner.fetch_token(redirect)

    assert refused.value.error == "invalid_grant"


def test_a_refresh_cannot_widen_the_scopes(browser, partner, tenant_a, owner_a):
    authorized(browser, partner, tenant_a, owner_a.username)

    with pytest.raises(OAuthError) as refused:
        partner.client.refresh_token(partner.token_url, scope="orders:read orders:write")

    assert refused.value.error == "invalid_scope"


def test_a_revoked_grant_ends_the_token_and_its_refresh(browser, partner, tenant_a, owner_a):
    authorized(browser, partner, tenant_a, owner_a.username)
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get(application=partner.application)

    revoke_grant(tenant=tenant_a, grant=grant)

    assert partner.acting_tenant().status_code == 401
    with pytest.raises(OAuthError) as refused:
        partner.client.refresh_token(partner.token_url)
    assert refused.value.error == "invalid_grant"


def test_a_new_consent_after_a_revocation_connects_the_app_again(
    browser, partner, tenant_a, owner_a
):
    authorized(browser, partner, tenant_a, owner_a.username)
    with tenant_scope(tenant_a):
        revoke_grant(tenant=tenant_a, grant=PartnerGrant.objects.get())

    page = browser.open(partner.authorization_url(scope="orders:read"))  # still signed in
    partner.fetch_token(allow(browser, page, tenant_a))

    assert partner.acting_tenant().json()["slug"] == tenant_a.slug
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get()
    assert (grant.revoked_at, grant.scopes) == (None, {"orders:read"})


def test_a_suspended_seller_gets_401_and_no_new_tokens(browser, partner, tenant_a, owner_a):
    authorized(browser, partner, tenant_a, owner_a.username)
    redirect = allow(browser, browser.open(partner.authorization_url()), tenant_a)

    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)

    answer = partner.acting_tenant()
    assert answer.status_code == 401
    assert answer.json()["code"] == "seller_suspended"
    for get_a_token in (
        lambda: partner.client.refresh_token(partner.token_url),
        lambda: partner.fetch_token(redirect),  # a code issued before the suspension
    ):
        with pytest.raises(OAuthError) as refused:
            get_a_token()
        assert refused.value.error == "invalid_grant"
    page = browser.open(partner.authorization_url())
    assert form_of(page.text, "authorizationForm").options == {}  # no seller to choose


def test_deny_sends_the_user_back_with_access_denied(browser, partner, tenant_a, owner_a):
    page = consent_page(browser, partner, owner_a.username)

    response = browser.submit(page, "authorizationForm", tenant=str(tenant_a.pk))

    assert response.status_code == 302
    answer = query_of(response.headers["Location"])
    assert answer["error"] == "access_denied"
    assert answer["state"] == query_of(str(page.url))["state"]
    with tenant_scope(tenant_a):
        assert not PartnerGrant.objects.exists()


@pytest.mark.parametrize("role", [Role.CASHIER, Role.VIEWER])
def test_a_cashier_or_viewer_has_no_seller_to_choose_and_cannot_authorize(
    browser, partner, tenant_a, role
):
    member = make_member(tenant_a, role, language="en")
    page = consent_page(browser, partner, member.username)
    form = form_of(page.text, "authorizationForm")

    assert form.options == {}
    assert list(form.submits.values()) == ["Back to the app"]
    assert "Only an owner or a manager of an active seller can connect an app." in page.text

    forced = browser.submit(page, "authorizationForm", tenant=str(tenant_a.pk), allow="Allow")

    assert forced.status_code == 200  # the page again: no code
    assert "Only an owner or a manager" in forced.text
    with tenant_scope(tenant_a):
        assert not PartnerGrant.objects.exists()
    back = browser.submit(page, "authorizationForm")
    assert query_of(back.headers["Location"])["error"] == "access_denied"


def test_a_member_of_two_sellers_picks_one_and_the_token_acts_for_it_only(
    browser, partner, tenant_a, tenant_b
):
    person = make_member(tenant_a, Role.OWNER)
    add_member(tenant=tenant_b, user=person, role=Role.MANAGER)
    third = make_tenant("Seller C")
    add_member(tenant=third, user=person, role=Role.CASHIER)

    page = consent_page(browser, partner, person.username)
    assert form_of(page.text, "authorizationForm").options["tenant"] == [
        (str(tenant_a.pk), "Seller A"),
        (str(tenant_b.pk), "Seller B"),
    ]
    partner.fetch_token(allow(browser, page, tenant_b))

    assert partner.acting_tenant().json()["slug"] == tenant_b.slug
    with tenant_scope(tenant_a):
        assert not PartnerGrant.objects.exists()
    with tenant_scope(tenant_b):
        assert PartnerGrant.objects.get().granted_by == person


def test_a_seller_the_user_does_not_manage_cannot_be_posted(browser, partner, tenant_a, tenant_b):
    owner = make_member(tenant_a, Role.OWNER, language="en")
    page = consent_page(browser, partner, owner.username)

    forced = browser.submit(page, "authorizationForm", tenant=str(tenant_b.pk), allow="Allow")

    assert forced.status_code == 200
    assert "Select a valid choice" in forced.text
    assert "Let Caja Rápida POS act for a seller?" in forced.text  # the page, with its app
    assert "See orders, their payments, refunds and QR codes" in forced.text
    with tenant_scope(tenant_b):
        assert not PartnerGrant.objects.exists()


@pytest.mark.parametrize("shortcut", ["skip_authorization", "approval_prompt=auto"])
def test_the_consent_page_is_never_skipped(browser, partner, tenant_a, owner_a, shortcut):
    authorized(browser, partner, tenant_a, owner_a.username)  # a previous consent and token
    url = partner.authorization_url()
    if shortcut == "skip_authorization":
        Application.objects.filter(pk=partner.application.pk).update(skip_authorization=True)
    else:
        url = f"{url}&approval_prompt=auto"

    page = browser.open(url)

    assert page.status_code == 200
    assert form_of(page.text, "authorizationForm").options["tenant"] == [
        (str(tenant_a.pk), "Seller A")
    ]


def test_a_redirect_uri_the_app_did_not_register_is_an_error_page(
    browser, partner, tenant_a, owner_a
):
    consent_page(browser, partner, owner_a.username)  # signed in
    url = partner.authorization_url().replace(
        "partner.example.com%2Fcallback", "attacker.example.com%2Fcallback"
    )

    page = browser.open(url)

    assert page.status_code == 400
    assert "This app cannot be connected" in page.text  # shown here, never redirected to


@pytest.mark.parametrize("role", [Role.CASHIER, Role.VIEWER])
def test_only_owners_and_managers_consent_whatever_calls_the_service(partner, tenant_a, role):
    with pytest.raises(ConsentRefused):
        record_consent(
            tenant=tenant_a,
            application=partner.application,
            user=make_member(tenant_a, role),
            requested=frozenset({"orders:read"}),
        )


# Client credentials ---------------------------------------------------------------------------


def installed(server: str, tenant: Tenant, requested: set[str]) -> OAuth2Client:
    """An authlib client of an app installed on ``tenant`` with ``requested`` scopes."""
    application, secret = install_application(
        tenant=tenant, name="Backoffice ERP", requested=frozenset(requested), user=None
    )
    return OAuth2Client(
        client_id=application.client_id,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic",
    )


def test_an_installed_app_gets_a_token_for_its_seller(server, tenant_a, tenant_b):
    with installed(server, tenant_b, {"stores:read", "pos:read"}) as client:
        token = client.fetch_token(f"{server}/o/token/", grant_type="client_credentials")
        answer = client.get(f"{server}/api/v1/tenant")
        stores = client.get(f"{server}/api/v1/stores")

    assert set(token["scope"].split()) == {"stores:read", "pos:read"}  # all it was granted
    assert "refresh_token" not in token
    assert answer.status_code == 200
    assert answer.json()["slug"] == tenant_b.slug
    assert stores.status_code == 200


def test_an_installed_app_cannot_ask_for_more_than_it_was_granted(server, tenant_a):
    with installed(server, tenant_a, {"orders:read"}) as client:
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(
                f"{server}/o/token/",
                grant_type="client_credentials",
                scope="orders:read orders:write",
            )
        narrower = client.fetch_token(
            f"{server}/o/token/", grant_type="client_credentials", scope="orders:read"
        )

    assert refused.value.error == "invalid_scope"
    assert narrower["scope"] == "orders:read"


def test_an_installed_app_of_a_suspended_or_revoked_seller_gets_no_token(
    server, tenant_a, tenant_b
):
    with installed(server, tenant_a, {"orders:read"}) as client:
        client.fetch_token(f"{server}/o/token/", grant_type="client_credentials")
        Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)

        assert client.get(f"{server}/api/v1/tenant").status_code == 401
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(f"{server}/o/token/", grant_type="client_credentials")
    assert refused.value.error == "invalid_grant"

    with installed(server, tenant_b, {"orders:read"}) as client:
        client.fetch_token(f"{server}/o/token/", grant_type="client_credentials")
        with tenant_scope(tenant_b):
            revoke_grant(tenant=tenant_b, grant=PartnerGrant.objects.get())

        assert client.get(f"{server}/api/v1/tenant").status_code == 401
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(f"{server}/o/token/", grant_type="client_credentials")
    assert refused.value.error == "invalid_grant"
