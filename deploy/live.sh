#!/usr/bin/env bash
# The live server: uvicorn serving the ASGI application for the pages' event streams, which the
# proxy sends here (/display/<token>/events, /cashier/orders/<uid>/events; docs/scaling.md). Each
# worker process holds thousands of open streams on one Redis subscription. LIVE_PORT (8001),
# LIVE_WORKERS (2: one per core); extra arguments are uvicorn's.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m uvicorn merchant_platform.asgi:application \
    --host "${LIVE_HOST:-0.0.0.0}" --port "${LIVE_PORT:-8001}" --workers "${LIVE_WORKERS:-2}" \
    --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --lifespan off --backlog 4096 --timeout-graceful-shutdown 5 --no-access-log "$@"
