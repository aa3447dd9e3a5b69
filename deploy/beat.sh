#!/usr/bin/env bash
# Celery beat, the periodic tasks' scheduler (merchant_platform.beat.LeaderScheduler: it sends
# only while it holds a lock in Redis, so a second beat stands by; it keeps no schedule file).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m celery -A merchant_platform beat --loglevel "${LOG_LEVEL:-INFO}" "$@"
