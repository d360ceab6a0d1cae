#!/usr/bin/env bash
# Builds nats-server and FerretDB once into .cache/bin (git-ignored) and reuses them afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=versions.env
source "$root/tools/infra/versions.env"
bin="$root/.cache/bin"
mkdir -p "$bin"

have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }

if ! have nats-server "$NATS_SERVER_VERSION"; then
  echo "infra: building nats-server $NATS_SERVER_VERSION (once)" >&2
  GOBIN="$bin" go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  echo "$NATS_SERVER_VERSION" >"$bin/nats-server.version"
fi

if ! have ferretdb "$FERRETDB_VERSION"; then
  echo "infra: building FerretDB $FERRETDB_VERSION (once)" >&2
  # FerretDB embeds build/version/version.txt, which its release process generates and the
  # module zip lacks, so build from a writable copy of the module with that file written.
  dir=$(cd "$(mktemp -d)" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  src=$(mktemp -d)
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  if ! (cd "$src" && go build -o "$bin/ferretdb" ./cmd/ferretdb); then
    # Newer Go toolchains reject the linkname tricks of some dependencies.
    (cd "$src" && go build -ldflags=-checklinkname=0 -o "$bin/ferretdb" ./cmd/ferretdb)
  fi
  rm -rf "$src"
  echo "$FERRETDB_VERSION" >"$bin/ferretdb.version"
fi
