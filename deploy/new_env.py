"""Print a new environment file for a staging stack: production mode (DEBUG off) with the sandbox
standing in for Mercado Pago, over https, with fresh random secrets.

    python3 deploy/new_env.py > .env                      # https://merchant.localhost
    python3 deploy/new_env.py --site-url https://staging.example.com > .env

Standard library only: it runs before anything is installed. For production, start from
.env.example instead (Mercado Pago's real values, your own secret store).
"""

import argparse
import base64
import os
import secrets
from urllib.parse import urlsplit


def new_env(site_url: str) -> dict[str, str]:
    """The variables of a staging deployment at ``site_url``, secrets freshly drawn."""
    site_url = site_url.rstrip("/")
    host = urlsplit(site_url).hostname or ""
    # Clear of the sandbox's own identities (8000000000000001; users 9000000xx, 1000000xx, ...).
    client_id = str(secrets.choice(range(10**15, 8 * 10**15)))
    sponsor_id = str(secrets.choice(range(3 * 10**8, 9 * 10**8)))
    return {
        "SITE_URL": site_url,
        "SITE_HOST": host,
        "ALLOWED_HOSTS": ",".join(dict.fromkeys([host, "127.0.0.1", "localhost"])),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "SANDBOX_ENABLED": "true",
        "MERCADOPAGO_API_BASE_URL": f"{site_url}/sandbox",
        "MERCADOPAGO_CLIENT_ID": client_id,
        "MERCADOPAGO_CLIENT_SECRET": secrets.token_urlsafe(32),
        "MERCADOPAGO_SPONSOR_ID": sponsor_id,
        "MERCADOPAGO_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        # A Fernet key: 32 random bytes, URL-safe base64.
        "MERCADOPAGO_CREDENTIAL_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "METRICS_TOKEN": secrets.token_urlsafe(32),  # what Prometheus sends to /metrics
        "NOTIFICATIONS_RELAY": "true",  # the stack runs deploy/relay.sh
        # E-mail goes to compose.yaml's Mailpit (the staging profile), never to real mailboxes.
        "COMPOSE_PROFILES": "staging",
        "EMAIL_URL": "smtp://mail:1025",
        "DEFAULT_FROM_EMAIL": f"Merchant platform <no-reply@{host}>",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-url", default="https://merchant.localhost")
    site_url = parser.parse_args().site_url
    if not site_url.startswith("https://"):
        parser.error("--site-url must be an https:// URL")
    print("# A staging stack with the sandbox as Mercado Pago, made by deploy/new_env.py.")
    print("# Secrets: keep this file private (mode 600), never commit it.")
    for name, value in new_env(site_url).items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
