"""E-mail in production: a mail server is required (merchant_platform.E013), from EMAIL_URL."""

import pytest
from django.core.checks import Error, Warning

from merchant_platform import checks
from tests.test_settings_checks import PRODUCTION, PRODUCTION_ENV, _manage, _project_errors

UNDELIVERING = ["console", "locmem", "dummy", "filebased"]


@pytest.mark.parametrize("backend", UNDELIVERING)
def test_production_refuses_a_backend_that_never_delivers(backend):
    errors = _project_errors(EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend")
    assert [(type(e), e.id) for e in errors] == [(Error, "merchant_platform.E013")]
    assert errors[0].msg == (
        "EMAIL_URL is not set: invitations and password resets would never leave the server."
    )
    assert "smtp+tls://" in errors[0].hint


def test_smtp_passes_and_development_may_print_mail():
    assert _project_errors(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend") == []
    console = "django.core.mail.backends.console.EmailBackend"
    assert _project_errors(DEBUG=True, EMAIL_BACKEND=console) == []
    assert PRODUCTION["EMAIL_BACKEND"].endswith(".smtp.EmailBackend")


def test_a_command_on_a_development_machine_only_warns(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(checks, "_command_relaxes", True)
    errors = _project_errors(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    assert [(type(e), e.id) for e in errors] == [(Warning, "merchant_platform.E013")]


def test_check_deploy_refuses_a_production_environment_without_email_url():
    without = {name: value for name, value in PRODUCTION_ENV.items() if name != "EMAIL_URL"}
    result = _manage(["check", "--deploy"], without)
    assert result.returncode != 0
    assert "(merchant_platform.E013) EMAIL_URL is not set" in result.stderr

    given = _manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert given.returncode == 0, given.stderr
    assert "mail-password-value" not in given.stdout + given.stderr
