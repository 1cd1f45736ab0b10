# orderflow — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /usr/bin/env bash
GO    ?= go

.DEFAULT_GOAL := help
.PHONY: help run test unit integration chaos daprd build fmt vet lint clean bench microbench

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

define require_go
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: the Go toolchain is not on PATH; install Go $$(sed -n 's/^go //p' go.mod) from https://go.dev/dl and retry" >&2; exit 1; }
endef

daprd: ## provision daprd 1.18.2 (DAPRD, ~/.dapr/bin/daprd, or a cached build in bin/daprd)
	$(require_go)
	@tools/daprd.sh >/dev/null

PROFILE ?= redis

run: ## run every service with its sidecar (PROFILE=redis|rabbitmq-postgres|mqtt-mysql, SECURE=1 for API tokens; uses the Dapr CLI 1.18 if installed, USE_CLI=0 to not)
	@PROFILE="$(PROFILE)" SECURE="$(SECURE)" USE_CLI="$(USE_CLI)" tools/run.sh

test: unit integration ## unit tests (with -race), then integration tests on real sidecars

unit: ## unit tests only (each micro-benchmark runs once too, so none rots)
	$(require_go)
	$(GO) test -race -count=1 -bench . -benchtime 1x $$($(GO) list ./... | grep -v '^orderflow/tests')

# -artifacts keeps what tests save for people to look at (the browser tests' screenshots) in results/_artifacts.
integration: ## integration tests only (real daprd + the machine's brokers and stores; includes the short chaos run and the browser tests)
	$(require_go)
	@mkdir -p results
	@daprd="$$(tools/daprd.sh)" || exit 1; \
	  DAPRD="$$daprd" $(GO) test -count=1 -timeout 25m -artifacts -outputdir "$(CURDIR)/results" ./tests/...

CHAOS_ORDERS ?= 2000
CHAOS_MIN_KILLS ?= 20

chaos: ## chaos suite: CHAOS_ORDERS orders while apps, sidecars and a private Redis are killed and paused; prints the checks
	$(require_go)
	@daprd="$$(tools/daprd.sh)" || exit 1; \
	  DAPRD="$$daprd" CHAOS_ORDERS=$(CHAOS_ORDERS) CHAOS_MIN_KILLS=$(CHAOS_MIN_KILLS) \
	  $(GO) test -count=1 -timeout 60m -run '^TestChaos$$' -v ./tests/

build: ## compile everything
	$(require_go)
	$(GO) build ./...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

# The linters run pinned, through `go run pkg@version`: nothing to install, and their dependencies stay out of
# the services' go.mod. The first run downloads and builds them, and staticcheck then analyses every
# dependency once (minutes on a cold cache); later runs reuse the Go build and staticcheck caches.
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION    := v0.52.0

# deadcode runs with -test, so code that only tests reach counts as used: the test helper packages
# (kv/kvfake, kv/kvtest, platform/eventstest), tests/harness and checks such as stock.CheckInvariants exist for
# the tests. deadcode exits 0 on findings, hence the check that it printed nothing.
lint: ## gofmt check, go vet, staticcheck and deadcode; fails on any finding
	$(require_go)
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt: not formatted (make fmt fixes them):" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	@echo "$(GO) run golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION) -test ./..."; \
	  dead="$$($(GO) run golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION) -test ./...)" || exit 1; \
	  if [ -n "$$dead" ]; then echo "deadcode: unreachable functions (remove them):" >&2; echo "$$dead" >&2; exit 1; fi

clean: ## remove built binaries (keeps bin/daprd), local data and logs
	find bin -mindepth 1 -maxdepth 1 ! -name daprd -exec rm -rf {} +
	rm -rf .data .dapr

microbench: ## Go micro-benchmarks of the hot domain paths (go test -bench)
	$(require_go)
	$(GO) test -run '^$$' -bench . -benchmem ./apps/... ./internal/...

bench: ## benchmark: bare-Dapr ceiling, saga max throughput, latency at half rate (results/ gets the report)
	$(require_go)
	@daprd="$$(tools/daprd.sh)" || exit 1; \
	  $(GO) run ./tools/bench -daprd "$$daprd" $(BENCH_ARGS)

-include k8s/k8s.mk
