#!/usr/bin/env bash
# Release step: run once per deploy, after the build and before the new web, worker and beat
# processes start, with their environment. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Refuses a missing or unsafe production setting (docs/deploy.md, "System checks").
python manage.py check --deploy
python manage.py migrate --no-input
# Staging with the sandbox (SANDBOX_ENABLED=true): the sandbox learns this deployment's
# Mercado Pago identity. It does nothing when the sandbox is off.
python manage.py sandbox_application
