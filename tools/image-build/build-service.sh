#!/usr/bin/env bash
# build-service.sh <service> <outDir> — what the image runs, built from the workspace:
#   <outDir>/dist/main.js      the service and the workspace libraries it imports, compiled
#   <outDir>/node_modules      its production dependencies only (pnpm deploy --prod), flat
# The Dockerfile's build stage calls it, and tools/image-build/test runs its output with plain node.
set -euo pipefail
service=${1:?service name}
out=${2:?output directory}
root="$(cd "$(dirname "$0")/../.." && pwd)"
pnpm="${PNPM:-$root/.cache/pnpm/node_modules/.bin/pnpm}"
# A service, or a tool that ships as one (the supplier simulator in tools/).
dir=""
for candidate in "services/$service" "tools/$service"; do
  [ -f "$root/$candidate/src/main.ts" ] && dir=$candidate && break
done
[ -n "$dir" ] || { echo "no service $service" >&2; exit 1; }
package=$(node -p "require('$root/$dir/package.json').name")
rm -rf "$out"
# Hoisted: the bundle imports third-party packages that workspace libraries depend on
# (the kit's mongodb, nats, OpenTelemetry), so they must resolve from one top-level node_modules.
(cd "$root" && "$pnpm" --filter "$package" deploy --prod --legacy --config.node-linker=hoisted "$out" >/dev/null)
# The deployed copy's TypeScript sources and tests are not run; the bundle is.
rm -rf "$out/src" "$out/test"
(cd "$root" && node --import tsx tools/image-build/bundle.ts "$dir/src/main.ts" "$out/dist")
# The gateway serves the dashboard: built here, since the image has no bundler.
if [ "$service" = gateway ]; then
  (cd "$root" && node --import tsx services/gateway/dashboard/build.ts "$out/dist/dashboard")
fi
