#!/usr/bin/env bash
# The web process: gunicorn with the repository's gunicorn.conf.py (bind, workers, timeouts,
# graceful shutdown, JSON logs). Extra arguments, or GUNICORN_CMD_ARGS, override it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m gunicorn -c gunicorn.conf.py merchant_platform.wsgi:application "$@"
