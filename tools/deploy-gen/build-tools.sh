#!/usr/bin/env bash
# Builds the deployment checkers once into .cache/bin from the Go module proxy (like
# tools/local-servers/build-binaries.sh does for nats-server and FerretDB), and the Kubernetes JSON
# schemas kubeconform validates against into .cache/k8s-schemas/<version> (its default schema
# registry is on the internet; ours comes from the k8s.io/kubernetes module's OpenAPI document).
set -euo pipefail
# shellcheck source=../local-servers/bin-cache.sh
source "$(dirname "$0")/../local-servers/bin-cache.sh"
# `go mod download` of a module, outside any module; prints its directory.
module_dir() {
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$tmp"
}

if ! have kustomize "$KUSTOMIZE_VERSION"; then
  echo "deploy: building kustomize $KUSTOMIZE_VERSION (once)" >&2
  GOBIN="$bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  echo "$KUSTOMIZE_VERSION" >"$bin/kustomize.version"
fi

if ! have kubeconform "$KUBECONFORM_VERSION"; then
  echo "deploy: building kubeconform $KUBECONFORM_VERSION (once)" >&2
  GOBIN="$bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  echo "$KUBECONFORM_VERSION" >"$bin/kubeconform.version"
fi

if ! have docker-compose "$COMPOSE_VERSION"; then
  # Compose's go.mod has replace/exclude directives, which `go install pkg@version` refuses:
  # build from a writable copy of the module instead (a few minutes, once).
  echo "deploy: building docker compose $COMPOSE_VERSION (once; a few minutes)" >&2
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  cp -r "$(module_dir "github.com/docker/compose/v2@$COMPOSE_VERSION")/." "$src/"
  chmod -R u+w "$src"
  (cd "$src" && go build -trimpath -o "$bin/docker-compose" ./cmd)
  echo "$COMPOSE_VERSION" >"$bin/docker-compose.version"
fi

schemas="$root/.cache/k8s-schemas/$KUBERNETES_SCHEMA_VERSION"
if [ ! -f "$schemas/.done" ]; then
  echo "deploy: Kubernetes $KUBERNETES_SCHEMA_VERSION JSON schemas (once)" >&2
  swagger="$(module_dir "k8s.io/kubernetes@$KUBERNETES_SCHEMA_VERSION")/api/openapi-spec/swagger.json"
  rm -rf "$schemas"
  node --import tsx "$root/tools/deploy-gen/src/k8s-schemas.ts" "$swagger" "$schemas"
  touch "$schemas/.done"
fi
