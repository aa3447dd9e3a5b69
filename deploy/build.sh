#!/usr/bin/env bash
# Build step: run once per release, before anything starts (the Dockerfile runs it at build).
#   deploy/build.sh deps    install the exact versions of requirements.lock (hashes checked)
#   deploy/build.sh static  collect the static files into STATIC_ROOT (staticfiles/)
#   deploy/build.sh         both
set -euo pipefail
cd "$(dirname "$0")/.."

step="${1:-all}"
case "$step" in deps | static | all) ;; *) echo "usage: $0 [deps|static]" >&2; exit 2 ;; esac

if [[ "$step" != static ]]; then
    python -m pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
fi
if [[ "$step" != deps ]]; then
    # The manifest of hashed names that production (DEBUG off) serves; needs no database.
    python manage.py collectstatic --no-input
fi
