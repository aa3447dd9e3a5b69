"""The container's health check: exit 0 when the web process answers ``/healthz`` with 200.

``HEALTHCHECK_URL`` overrides the default ``http://127.0.0.1:8000/healthz`` (gunicorn.conf.py's
port). Standard library only; SSL_CERT_FILE is honoured for an https URL.
"""

import os
import sys
import urllib.request

URL = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")

try:
    with urllib.request.urlopen(URL, timeout=5) as answer:  # noqa: S310 (a fixed local URL)
        sys.exit(0 if answer.status == 200 else 1)
except OSError as error:
    sys.exit(f"{URL}: {error}")
