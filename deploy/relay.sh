#!/usr/bin/env bash
# The notification relay (with NOTIFICATIONS_RELAY=true; run one or more): publishes the tasks of
# the Mercado Pago notifications that the web processes stored. SIGTERM stops it at any point.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python manage.py run_notification_relay "$@"
