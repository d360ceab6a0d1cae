#!/usr/bin/env bash
# Writes .env for `docker compose up`: a random value for every secret docker-compose.yml requires
# (the operator key, user-token and supplier-webhook secrets, MongoDB's root password, and each
# service's NATS and MongoDB passwords). Keeps an existing .env; `--force` replaces it.
# The values are a letter and hex digits: safe inside the services' connection strings, and read by
# nats-server as a string (a value such as 5e09… would be read as a number and refused).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [ -e .env ] && [ "${1:-}" != "--force" ]; then
  echo "deploy: .env exists; keeping it (tools/deploy-gen/env.sh --force replaces it)" >&2
  exit 0
fi
umask 077
grep -o '\${[A-Za-z0-9_]*:?' docker-compose.yml | sed 's/^\${\(.*\):?$/\1/' | sort -u |
  while read -r name; do echo "$name=s$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('hex'))")"; done >.env
echo "deploy: wrote .env ($(wc -l <.env) secrets, readable by you only)" >&2
