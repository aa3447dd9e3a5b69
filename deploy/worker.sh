#!/usr/bin/env bash
# A Celery worker (run one or more). SIGTERM is a warm shutdown: running tasks finish first.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m celery -A merchant_platform worker --loglevel "${LOG_LEVEL:-INFO}" "$@"
