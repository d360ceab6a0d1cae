#!/usr/bin/env bash
# Builds Centrifugo once into .cache/bin (git-ignored) for the SSE benchmark's side-by-side run;
# not part of `make install`: only bench/gateway/sse-vs-centrifugo.ts needs it.
set -euo pipefail
# shellcheck source=../../tools/local-servers/bin-cache.sh
source "$(dirname "$0")/../../tools/local-servers/bin-cache.sh"
version="${CENTRIFUGO_VERSION:-v6.9.1}"
if ! have centrifugo "$version"; then
  echo "bench: building centrifugo $version (once)" >&2
  if ! GOBIN="$bin" go install "github.com/centrifugal/centrifugo/v6@$version"; then
    # Newer Go toolchains reject the linkname tricks of some dependencies.
    GOBIN="$bin" go install -ldflags=-checklinkname=0 "github.com/centrifugal/centrifugo/v6@$version"
  fi
  echo "$version" >"$bin/centrifugo.version"
fi
echo "$bin/centrifugo"
