"""Settings come from the environment; system checks refuse missing or malformed values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from merchant_platform.checks import REQUIRED_IN_PRODUCTION
from merchant_platform.defaults import DEV_SECRET_KEY
from merchant_platform.mercadopago import (
    SANDBOX_CLIENT_SECRET,
    SANDBOX_CREDENTIAL_KEY,
    SANDBOX_SPONSOR_ID,
    SANDBOX_WEBHOOK_SECRET,
    get_config,
)

ROOT = Path(__file__).resolve().parent.parent
NEW_KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()

PRODUCTION = {
    "DEBUG": False,
    "SECRET_KEY": "a-real-secret-key-that-is-long-and-random-0123456789-abcdefghijkl",
    "ALLOWED_HOSTS": ["pay.example.com"],
    "SITE_URL": "https://pay.example.com",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "SANDBOX_ENABLED": False,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "METRICS_TOKEN": "a-long-random-metrics-token-0123456789",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "MERCADOPAGO_API_BASE_URL": "https://api.mercadopago.com",
    "MERCADOPAGO_CLIENT_ID": "1234567890123456",
    "MERCADOPAGO_CLIENT_SECRET": "client-secret-value",
    "MERCADOPAGO_SPONSOR_ID": "123456789",
    "MERCADOPAGO_PLATFORM_ID": "mp-platform",
    "MERCADOPAGO_INTEGRATOR_ID": "dev_24c65fb163bf11ea96500242ac130004",
    "MERCADOPAGO_WEBHOOK_SECRET": "webhook-secret-value",
    "MERCADOPAGO_CREDENTIAL_KEYS": [NEW_KEY, OLD_KEY],
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    },
    # The project's own list: the test settings also silence what their sandbox stand-in brings.
    "SILENCED_SYSTEM_CHECKS": settings.PROJECT_SILENCED,
}


def _cache(backend: str) -> dict:
    return {"default": {"BACKEND": f"django.core.cache.backends.{backend}", "LOCATION": "cache"}}


def _project_errors(**overrides) -> list:
    with override_settings(**{**PRODUCTION, **overrides}):
        messages = run_checks(include_deployment_checks=True)
    return [m for m in messages if m.id.startswith("merchant_platform.")]


def test_production_settings_pass_every_check_including_djangos_deploy_checks():
    with override_settings(**PRODUCTION):
        call_command("check", "--deploy", "--fail-level", "WARNING")


@pytest.mark.parametrize("name", REQUIRED_IN_PRODUCTION)
def test_each_missing_required_setting_fails_with_its_name(name):
    empty = [] if name == "MERCADOPAGO_CREDENTIAL_KEYS" else ""
    with override_settings(**{**PRODUCTION, name: empty}), pytest.raises(SystemCheckError) as exc:
        call_command("check", "--deploy")
    assert f"{name} is not set; it is required when DEBUG is off" in str(exc.value)
    assert "merchant_platform.E002" in str(exc.value)


def test_development_secret_key_is_refused_when_debug_is_off():
    errors = _project_errors(SECRET_KEY=DEV_SECRET_KEY)
    assert [e.id for e in errors] == ["merchant_platform.E001"]
    assert _project_errors(SECRET_KEY=DEV_SECRET_KEY, DEBUG=True) == []


@pytest.mark.parametrize(
    ("overrides", "error_id", "fragment"),
    [
        ({"MERCADOPAGO_SPONSOR_ID": "12ab"}, "E003", "MERCADOPAGO_SPONSOR_ID must be"),
        ({"MERCADOPAGO_CLIENT_ID": "APP_USR-1"}, "E003", "MERCADOPAGO_CLIENT_ID must be"),
        ({"MERCADOPAGO_API_BASE_URL": "api.mercadopago.com"}, "E004", "absolute http(s) URL"),
        ({"MERCADOPAGO_API_BASE_URL": "http://api.mercadopago.com"}, "E005", "must use https"),
        ({"MERCADOPAGO_CREDENTIAL_KEYS": [NEW_KEY, "short"]}, "E006", "key number 2"),
        ({"MERCADOPAGO_CREDENTIAL_KEYS": [NEW_KEY, NEW_KEY]}, "E007", "same key twice"),
        ({"MERCADOPAGO_CREDENTIAL_KEYS": [SANDBOX_CREDENTIAL_KEY]}, "E008", "sandbox's public"),
        ({"SITE_URL": "http://pay.example.com"}, "E009", "public https URL"),
        ({"MERCADOPAGO_INTEGRATOR_ID": "integrator"}, "W001", "integrator id"),
        ({"SANDBOX_ENABLED": True}, "W002", "SANDBOX_ENABLED is on"),
        ({"CELERY_BROKER_URL": ""}, "W003", "CELERY_BROKER_URL is not set"),
        ({"CACHES": _cache("locmem.LocMemCache")}, "E010", "kept per process"),
        ({"CACHES": _cache("dummy.DummyCache")}, "E010", "kept per process"),
        ({"CACHES": _cache("filebased.FileBasedCache")}, "W004", "file-based"),
        ({"MERCADOPAGO_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}, "E011", "sandbox's public"),
        ({"MERCADOPAGO_WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET}, "E011", "sandbox's public"),
    ],
)
def test_malformed_values_are_reported_clearly(overrides, error_id, fragment):
    errors = _project_errors(**overrides)
    assert [e.id for e in errors] == [f"merchant_platform.{error_id}"]
    assert fragment in errors[0].msg


def test_malformed_values_are_errors_in_development_too():
    errors = _project_errors(DEBUG=True, MERCADOPAGO_SPONSOR_ID="sponsor")
    assert [(type(e), e.id) for e in errors] == [(Error, "merchant_platform.E003")]


def test_nothing_is_required_in_development():
    blank = dict.fromkeys(REQUIRED_IN_PRODUCTION, "") | {"MERCADOPAGO_CREDENTIAL_KEYS": []}
    local = {"CACHES": _cache("locmem.LocMemCache"), "SITE_URL": "http://127.0.0.1:8000"}
    assert _project_errors(DEBUG=True, SECRET_KEY=DEV_SECRET_KEY, **blank, **local) == []


def test_secret_values_never_appear_in_check_messages():
    errors = _project_errors(MERCADOPAGO_CREDENTIAL_KEYS=["not-a-key-but-secret"])
    assert all("not-a-key-but-secret" not in f"{e.msg} {e.hint}" for e in errors)
    errors = _project_errors(MERCADOPAGO_SPONSOR_ID="secretish")
    assert all("secretish" not in f"{e.msg} {e.hint}" for e in errors)


def test_without_an_api_base_url_the_platform_uses_the_sandbox_identity():
    blank = dict.fromkeys(REQUIRED_IN_PRODUCTION, "") | {"MERCADOPAGO_CREDENTIAL_KEYS": []}
    with override_settings(**blank, SITE_URL="http://127.0.0.1:8000"):
        config = get_config()
    assert config.uses_sandbox
    assert config.api_base_url == "http://127.0.0.1:8000/sandbox"
    assert config.sponsor_id == SANDBOX_SPONSOR_ID
    assert config.credential_keys == (SANDBOX_CREDENTIAL_KEY,)


def test_with_an_api_base_url_nothing_falls_back_to_the_sandbox():
    with override_settings(**{**PRODUCTION, "MERCADOPAGO_WEBHOOK_SECRET": ""}):
        config = get_config()
    assert not config.uses_sandbox
    assert config.api_base_url == "https://api.mercadopago.com"
    assert config.webhook_secret == ""
    assert config.credential_keys == (NEW_KEY, OLD_KEY)


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    clean_env.pop("DATABASE_URL", None)
    clean_env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's own: merchant_platform.settings
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": PRODUCTION["SECRET_KEY"],
    "ALLOWED_HOSTS": "pay.example.com",
    "SITE_URL": "https://pay.example.com",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "SECURE_HSTS_PRELOAD": "true",
    "METRICS_TOKEN": "a-long-random-metrics-token-0123456789",
    "EMAIL_URL": "smtp+tls://platform:mail-password-value@smtp.example.com:587",
    "MERCADOPAGO_API_BASE_URL": "https://api.mercadopago.com",
    "MERCADOPAGO_CLIENT_ID": "1234567890123456",
    "MERCADOPAGO_CLIENT_SECRET": "client-secret-value",
    "MERCADOPAGO_SPONSOR_ID": "123456789",
    "MERCADOPAGO_INTEGRATOR_ID": "dev_24c65fb163bf11ea96500242ac130004",
    "MERCADOPAGO_WEBHOOK_SECRET": "webhook-secret-value",
    "MERCADOPAGO_CREDENTIAL_KEYS": f"{NEW_KEY}, {OLD_KEY} ",  # spaces are dropped
}


def test_manage_py_check_deploy_passes_with_a_production_environment():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_spaced_list_still_reveals_a_repeated_or_public_key():
    env = {**PRODUCTION_ENV, "MERCADOPAGO_CREDENTIAL_KEYS": f"{NEW_KEY}, {SANDBOX_CREDENTIAL_KEY}"}
    result = _manage(["check", "--deploy"], env)
    assert result.returncode != 0
    assert "merchant_platform.E008" in result.stderr


def test_manage_py_check_deploy_fails_on_a_missing_variable():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "MERCADOPAGO_CLIENT_SECRET"}
    result = _manage(["check", "--deploy"], env)
    assert result.returncode != 0
    assert "MERCADOPAGO_CLIENT_SECRET is not set" in result.stderr
    assert "client-secret-value" not in result.stderr + result.stdout


def test_the_platforms_sandbox_identity_is_the_one_the_sandbox_seeds():
    from merchant_platform import mercadopago
    from sandbox import seed

    assert mercadopago.SANDBOX_CLIENT_ID == seed.CLIENT_ID
    assert mercadopago.SANDBOX_CLIENT_SECRET == seed.CLIENT_SECRET
    assert mercadopago.SANDBOX_WEBHOOK_SECRET == seed.WEBHOOK_SECRET
    assert str(seed.INTEGRATOR_USER_ID) == mercadopago.SANDBOX_SPONSOR_ID
