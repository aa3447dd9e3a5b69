"""The OpenAPI description at ``/api/schema/`` and the docs at ``/api/docs/``: a valid schema
generated without warnings, the OAuth2 scheme with both flows and every scope, the scope and the
error responses of every operation, an ``Error`` schema that every error of partners/errors.py
matches, and Swagger UI served from this deployment's own static files (no CDN)."""

import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jsonschema
import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import Client
from drf_spectacular.settings import patched_settings, spectacular_settings
from oauth2_provider.models import get_application_model
from rest_framework import exceptions

from orders.errors import (
    InvalidOrder,
    MercadoPagoUnavailable,
    NotAllowed,
    Problem,
    RefusedByMercadoPago,
)
from partners.errors import exception_handler
from partners.models import PartnerGrant
from partners.oauth import TOKEN_EXPIRED
from partners.rest import PermissionDeniedWithCode, RateLimited
from partners.schema import ERROR_RESPONSES
from partners.scopes import SCOPES
from partners.versions import InvalidApiVersion
from tenants.scope import tenant_scope
from tenants.services import NotConnected
from tests.browser import chromium  # noqa: F401 (fixture)

Application = get_application_model()
METHODS = {"get", "post", "put", "patch", "delete"}
PASSWORD = "test-pass-123"  # tests.factories.make_user's
SWAGGER_CALLBACK = spectacular_settings.SWAGGER_UI_SETTINGS["oauth2RedirectUrl"]


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_schema_validates_and_generates_without_warnings(tmp_path):
    # As a developer or CI runs it, in a fresh process (nothing imported by the tests helps):
    # validated against the OpenAPI 3.0 JSON schema, failing on any warning or error of the
    # generation (an unresolvable field, authenticator or enum clash...).
    out = tmp_path / "schema.yaml"
    command = ["manage.py", "spectacular", "--skip-checks", "--validate", "--fail-on-warn"]
    done = subprocess.run(  # noqa: S603 (our own manage.py, no outside input)
        [sys.executable, *command, "--file", str(out)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    assert "/api/v1/tenant" in out.read_text()


def test_only_the_partner_api_is_described(schema):
    assert schema["paths"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_oauth2_offers_authorization_code_and_client_credentials_with_every_scope(schema):
    oauth2 = schema["components"]["securitySchemes"]["oauth2"]
    assert oauth2["type"] == "oauth2"
    flows = oauth2["flows"]
    assert set(flows) == {"authorizationCode", "clientCredentials"}
    assert flows["authorizationCode"]["authorizationUrl"] == "/o/authorize/"
    assert flows["authorizationCode"]["tokenUrl"] == "/o/token/"
    assert flows["authorizationCode"]["refreshUrl"] == "/o/token/"
    assert flows["clientCredentials"]["tokenUrl"] == "/o/token/"
    assert "refreshUrl" not in flows["clientCredentials"]  # it issues no refresh token
    for flow in flows.values():
        assert flow["scopes"] == SCOPES
    assert "PKCE" in oauth2["description"]


def test_every_operation_requires_the_scope_its_view_declares(schema):
    for path, method, operation in operations(schema):
        if path == "/api/v1/tenant" or path.startswith("/api/v1/events"):
            continue  # any token may ask whom it acts for, and list the events its scopes show
        oauth2 = [r["oauth2"] for r in operation["security"] if "oauth2" in r]
        assert len(oauth2) == 1, (method, path, operation["security"])
        assert len(oauth2[0]) == 1, (method, path, operation["security"])
        (scope,) = oauth2[0]
        assert scope in SCOPES, (method, path)
        if method == "get" and scope != "webhooks:write":
            assert scope.endswith(":read"), (method, path)
        elif method != "get":
            assert scope.endswith(":write"), (method, path)
        assert {"cookieAuth": []} in operation["security"]  # the browsable API


def test_the_tenant_endpoint_needs_no_particular_scope(schema):
    assert {"oauth2": []} in schema["paths"]["/api/v1/tenant"]["get"]["security"]


def test_every_operation_documents_the_errors_it_can_give(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        where = (method, path)
        for status in ("401", "403", "429"):
            assert status in responses, where
        if "{" in path:
            assert responses["404"] == {"$ref": "#/components/responses/NotFound"}, where
        if "requestBody" in operation:
            assert {"400", "415"} <= set(responses), where
        if method != "get":
            assert {"400", "409"} <= set(responses), where
        reaches_mercadopago = method != "get" and not path.startswith(
            ("/api/v1/webhook-endpoints", "/api/v1/webhook-deliveries")
        )
        assert ({"422", "503"} <= set(responses)) == reaches_mercadopago, where
        if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
            assert {"400", "404"} <= set(responses), where  # filters and an invalid cursor
    get_tenant = schema["paths"]["/api/v1/tenant"]["get"]["responses"]
    assert set(get_tenant) == {"200", "401", "403", "429"}


def test_error_responses_share_one_error_schema_with_examples(schema):
    for status, (name, _) in ERROR_RESPONSES.items():
        response = schema["components"]["responses"][name]
        content = response["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}, status
        assert content["examples"], status
        for example in content["examples"].values():
            _validate_error(schema, example["value"])
    responses = schema["components"]["responses"]
    assert {"Retry-After", "RateLimit-Reset"} <= set(responses["RateLimited"]["headers"])
    assert "WWW-Authenticate" in responses["Unauthenticated"]["headers"]
    examples = responses["ValidationError"]["content"]["application/json"]["examples"]
    assert all("fields" in example["value"] for example in examples.values())
    examples = responses["RefusedByMercadoPago"]["content"]["application/json"]["examples"]
    assert all("mercadopago_error" in example["value"] for example in examples.values())


def _validate_error(schema: dict, body: object) -> None:
    error = schema["components"]["schemas"]["Error"]
    jsonschema.validate(body, {**error, "components": schema["components"]})


ERRORS = [
    InvalidOrder([Problem("items.0.unit_price", "min_value", "Too low."), Problem("a", "b", "c")]),
    NotAllowed("Only an open order can be canceled.", code="order_not_cancelable"),
    NotConnected("Connect the seller first."),
    RefusedByMercadoPago("The POS does not exist.", code="pos_not_found", status=404),
    RefusedByMercadoPago("Refused.", code="", status=400),
    MercadoPagoUnavailable("Mercado Pago did not answer."),
    DjangoValidationError({"name": ["Required."]}),
    DjangoValidationError("Not valid."),
    exceptions.ValidationError({"items": [{}, {"unit_price": ["Too low."]}], "name": ["Blank."]}),
    exceptions.ValidationError(["Not valid."]),
    exceptions.ParseError(),
    Http404(),
    DjangoPermissionDenied(),
    exceptions.NotAuthenticated(),
    exceptions.AuthenticationFailed("Revoked."),
    PermissionDeniedWithCode("This token lacks the orders:write scope.", code="insufficient_scope"),
    exceptions.NotFound("Invalid cursor"),
    exceptions.UnsupportedMediaType("text/plain"),
    exceptions.Throttled(wait=3),
    RateLimited(wait=3),
    exceptions.AuthenticationFailed(TOKEN_EXPIRED.message, code=TOKEN_EXPIRED.code),
    InvalidApiVersion("2020-01-01"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_the_api_answers_matches_the_documented_error_schema(schema, error):
    response = exception_handler(error, {})
    assert str(response.status_code) in ERROR_RESPONSES
    _validate_error(schema, response.data)


def test_swagger_ui_offers_oauth2_with_pkce():
    assert spectacular_settings.SWAGGER_UI_OAUTH2_CONFIG["usePkceWithAuthorizationCodeGrant"]
    page = Client().get("/api/docs/")
    assert page.status_code == 200
    # The site's own policy, as on the sign-in, consent and callback pages the popup goes
    # through: with another one the popup loses its opener (the browser test below).
    assert page["Cross-Origin-Opener-Policy"] == settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    html = page.content.decode()
    assert '"usePkceWithAuthorizationCodeGrant": true' in html
    assert 'url: "/api/schema/"' in html


@pytest.mark.django_db(transaction=True)
def test_the_docs_and_their_assets_are_served_by_this_deployment(live_server):
    with httpx.Client(base_url=live_server.url) as http:
        page = http.get("/api/docs/")
        assert page.status_code == 200
        html = page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert len(assets) >= 4  # the CSS, the favicon and the two scripts
        for asset in assets:
            assert urlsplit(asset).netloc == "", asset  # nothing from a CDN: this runs offline
            assert asset.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), asset
            assert http.get(asset).status_code == 200, asset
        # Swagger UI's OAuth2 callback page, and the script it loads, are served too.
        redirect = urlsplit(SWAGGER_CALLBACK).path
        callback = http.get(redirect)
        assert callback.status_code == 200
        script = re.search(r'src="([^"]+)"', callback.text).group(1)
        assert http.get(urljoin(redirect, script)).status_code == 200


# Swagger UI in a real browser ------------------------------------------------------------------


@pytest.fixture
def static_files_as_in_production(monkeypatch, settings):
    """The live server serves static files before any middleware; in production WhiteNoise runs
    behind SecurityMiddleware, which gives them the site's Cross-Origin-Opener-Policy."""
    serve = StaticFilesHandler.serve

    def serve_with_the_site_policy(handler, request):
        response = serve(handler, request)
        response.setdefault(
            "Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
        )
        return response

    monkeypatch.setattr(StaticFilesHandler, "serve", serve_with_the_site_policy)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server reads committed rows
@pytest.mark.usefixtures("static_files_as_in_production")
def test_swagger_ui_connects_an_app_with_pkce_and_calls_the_api_with_its_token(
    chromium,  # noqa: F811
    live_server,
    settings,
    tenant_a,
    owner_a,
):
    callback = f"{live_server.url}{urlsplit(SWAGGER_CALLBACK).path}"
    # The deployment's SITE_URL is not the live server's, and the test server speaks http.
    settings.OAUTH2_PROVIDER = settings.OAUTH2_PROVIDER | {
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"]
    }
    application = Application.objects.create(
        name="API docs",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=callback,
    )
    swagger_ui = spectacular_settings.SWAGGER_UI_SETTINGS | {"oauth2RedirectUrl": callback}
    code_flow = ".auth-container:has-text('authorizationCode with PKCE')"
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    with patched_settings({"SWAGGER_UI_SETTINGS": swagger_ui}):
        page.goto("/admin/login/")
        page.fill("#id_username", owner_a.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")

        page.goto("/api/docs/")
        page.click("button.authorize")
        page.fill("#client_id_authorizationCode", application.client_id)
        page.click("label[for='orders:read-authorizationCode-checkbox-oauth2']")
        with context.expect_page() as popup_opened:
            page.click(f"{code_flow} button.authorize")
        consent = popup_opened.value
        consent.wait_for_selector("#authorizationForm")
        authorize_query = parse_qs(urlsplit(consent.url).query)
        assert authorize_query["code_challenge_method"] == ["S256"]
        assert authorize_query["redirect_uri"] == [callback]
        consent.select_option("select[name=tenant]", str(tenant_a.pk))
        consent.click("input[name=allow]")
        page.wait_for_selector(f"{code_flow} button:has-text('Logout')")  # the code came back
        page.click("button.close-modal")

        page.click("#operations-tenant-tenant_retrieve")
        page.click("#operations-tenant-tenant_retrieve button.try-out__btn")
        with page.expect_response("**/api/v1/tenant") as answer:
            page.click("#operations-tenant-tenant_retrieve button.execute")
    response = answer.value
    assert response.status == 200
    assert response.request.headers["authorization"].startswith("Bearer ")
    assert response.json()["slug"] == tenant_a.slug
    with tenant_scope(tenant_a):
        grant = PartnerGrant.objects.get(application=application)
    assert (grant.granted_by, grant.scopes) == (owner_a, {"orders:read"})
    context.close()
