# The two commands the README starts with. Each installs what is missing: pnpm (project-local, pinned in
# package.json), dependencies (frozen lockfile) and the NATS/FerretDB binaries (.cache/bin).
SHELL := /bin/bash
PNPM_VERSION := $(shell node -p "require('./package.json').packageManager.split('@')[1]")
PNPM := .cache/pnpm/node_modules/.bin/pnpm
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
MANIFESTS := package.json pnpm-workspace.yaml pnpm-lock.yaml $(wildcard patches/*.patch) $(wildcard */*/package.json) $(wildcard */package.json)

.PHONY: dev test faults install infra browser deploy-tools deploy-files deploy-check lint typecheck contracts client openapi-lint bench-baseline bench

dev: install infra
	@exec node --import tsx tools/dev/main.ts

test: install infra browser deploy-tools
	$(PNPM) run lint
	$(PNPM) run typecheck
	$(PNPM) run contracts:check
	$(PNPM) run client:check
	$(PNPM) run openapi:lint
	bash tools/deploy-gen/check.sh
	$(PNPM) exec vitest run --exclude 'tests/faults/**' $(VITEST_ARGS)

# The cluster fault suite (tests/faults): three NATS nodes, two replicas of everything, faults
# under load; ends within 10 minutes, report in bench/results/faults.md. Kept out of `make test`
# (it needs the machine to itself for a few minutes); CI runs it after `make test` (.ci/run).
faults: install infra
	$(PNPM) exec vitest run tests/faults $(VITEST_ARGS)

install: node_modules/.modules.yaml

infra:
	@bash tools/local-servers/build-binaries.sh

# docker compose, kustomize, kubeconform (Go module proxy) and the Kubernetes JSON schemas, once.
deploy-tools: install
	@bash tools/deploy-gen/build-tools.sh

# Regenerates docker-compose.yml and deploy/k8s's per-service files from the services that exist.
deploy-files: install
	node --import tsx tools/deploy-gen/src/generate.ts

# docker compose config, nats.conf, kustomize build + kubeconform of both overlays.
deploy-check: deploy-tools
	bash tools/deploy-gen/check.sh

contracts: install
	$(PNPM) run contracts:gen

# The typed client's API types (libs/client/src/generated), from the gateway's OpenAPI document.
client: install
	$(PNPM) run client:gen

# Spectral's `oas` ruleset over the gateway's OpenAPI document; any error or warning fails it.
openapi-lint: install
	$(PNPM) run openapi:lint

# Debian's Chromium for the dashboard's browser test (playwright-core drives it; it never downloads one).
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

bench-baseline: install infra
	$(PNPM) run bench:baseline

# Every benchmark; each measures what it compares with again in its own run (this machine's raw limits,
# or for bookings and orders the peer in bench/peer) and writes bench/results (bench/README.md).
bench: bench-baseline
	node_modules/.bin/tsx bench/gateway/throughput.ts
	node_modules/.bin/tsx bench/gateway/sse.ts
	node_modules/.bin/tsx bench/gateway/sse-vs-centrifugo.ts
	node_modules/.bin/tsx bench/capacity/bookings.ts
	node_modules/.bin/tsx bench/inventory/orders.ts
	node_modules/.bin/tsx bench/notifications/bulk.ts
	node_modules/.bin/tsx bench/availability/availability.ts
	node_modules/.bin/tsx bench/live/pipeline.ts
	node_modules/.bin/tsx bench/webhooks/delivery.ts
	node_modules/.bin/tsx bench/reports/bookings-report.ts

$(PNPM):
	npm install --prefix .cache/pnpm --no-audit --no-fund --loglevel=error pnpm@$(PNPM_VERSION)

node_modules/.modules.yaml: $(PNPM) $(MANIFESTS)
	CI=true PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PNPM) install --frozen-lockfile
	@touch $@
