#!/usr/bin/env bash
# The deployment checks of `make test`:
#  1. docker-compose.yml, deploy/k8s/base/services.yaml and nats/users.conf match the services
#     that exist (regenerate with `make deploy-files`);
#  2. `docker compose config`: the compose file is valid against the Compose specification;
#  3. the NATS configurations of Kubernetes and compose parse (`nats-server -t`), with every
#     service user (tools/deploy-gen/test checks each user's rights against its declared list);
#  4. `kustomize build` of each overlay, validated by kubeconform in strict mode (unknown fields
#     are errors) against the schemas of Kubernetes $KUBERNETES_SCHEMA_VERSION. Every resource
#     we ship has a built-in kind, so nothing is skipped (-ignore-missing-schemas is not set).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=../local-servers/versions.env
source tools/local-servers/versions.env
bin=.cache/bin

node --import tsx tools/deploy-gen/src/generate.ts --check

# Required variables of the compose file (its secrets, from .env) get placeholders: the check is of its shape.
required=$(grep -o '\${[A-Za-z0-9_]*:?' docker-compose.yml | sed 's/^\${\(.*\):?$/\1=check/' | sort -u)
env $required "$bin/docker-compose" -f docker-compose.yml --env-file /dev/null config --quiet
echo "deploy: docker compose config ok"

users=$(sed -n 's/.*password: \$\(NATS_PASSWORD_[A-Za-z0-9_-]*\).*/\1=check/p' deploy/k8s/base/nats/users.conf)
env SERVER_NAME=nats-0 $users "$bin/nats-server" -c deploy/k8s/base/nats/nats.conf -t >/dev/null
env $users "$bin/nats-server" -c deploy/compose/nats.conf -t >/dev/null
echo "deploy: nats.conf of Kubernetes and compose ok"

for overlay in deploy/k8s/overlays/*/; do
  "$bin/kustomize" build "$overlay" |
    "$bin/kubeconform" -strict -summary \
      -schema-location ".cache/k8s-schemas/$KUBERNETES_SCHEMA_VERSION/{{.ResourceKind}}{{.KindSuffix}}.json" -
done
