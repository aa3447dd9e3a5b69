#!/bin/sh
# The proxy container of compose.yaml: Caddy with deploy/Caddyfile. With its local CA
# (CADDY_TLS=internal, staging) it also publishes the CA's root certificate, readable by the
# platform's unprivileged user, to /ca/root.crt: the app containers trust it (SSL_CERT_FILE).
set -eu
caddy run --config /etc/caddy/Caddyfile --adapter caddyfile &
caddy=$!
trap 'kill -TERM "$caddy"' TERM INT
root=/data/caddy/pki/authorities/local/root.crt
if [ "${CADDY_TLS:-internal}" = internal ]; then
    while kill -0 "$caddy" 2>/dev/null && [ ! -s "$root" ]; do sleep 1; done
    if [ -s "$root" ]; then cp "$root" /ca/root.crt && chmod 644 /ca/root.crt; fi
fi
wait "$caddy"
