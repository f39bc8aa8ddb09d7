# mcpflow: every habitual command. `make help` lists them.
SHELL := /bin/bash
GO ?= go
GOBIN ?= $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT_VERSION ?= v2.15.0
BENCHSTAT_VERSION ?= v0.0.0-20260908200009-22c9c6c9d4da
GOLANGCI_LINT := $(GOBIN)/golangci-lint
BENCHSTAT := $(GOBIN)/benchstat

FUZZTIME ?= 10s
SMOKETIME ?= 3s
SMOKEMAX ?= 30s
BENCHTIME ?= 1s
COUNT ?= 10
CPU ?= 1,2,4
BENCH ?= .
STRESSTIME ?= 60s

# Every fuzz target as "package:FuzzName", found from the source.
FUZZ_TARGETS = $(shell grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./bench/' | \
	xargs -r grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed -E 's|^\./(.*)/[^/]*_test.go:func (Fuzz.*)|./\1:\2|' | sort -u)

.PHONY: help tools fmt vet lint test bench-check conformance client scripts-check race stress fuzz fuzz-smoke bench benchstat bench-peers cover ci serve replicas

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

tools: ## build golangci-lint and benchstat from the module proxy (pinned)
	@test -x $(GOLANGCI_LINT) && $(GOLANGCI_LINT) version 2>/dev/null | grep -q '$(GOLANGCI_LINT_VERSION:v%=%)' || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@test -x $(BENCHSTAT) || $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

fmt: ## gofmt every file in place
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet the main and bench modules
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

lint: tools ## golangci-lint (config in .golangci.yml) on both modules, and gofmt check
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...
	cd bench && $(GOLANGCI_LINT) run --allow-parallel-runners ./...

test: vet scripts-check race bench-check conformance client fuzz-smoke ## the test command: vet, every test under -race, the bench module's checks, the MCP conformance suite, the official TypeScript client, a short run of every fuzz target

scripts-check: ## the tests of the Makefile's helper scripts
	scripts/seconds_test.sh
	scripts/fuzz-smoke_test.sh

bench-check: ## the bench module's quick tests (adapters, key streams, charts), no benchmarks
	cd bench && $(GO) test -count=1 ./...

conformance: ## the official MCP conformance suite (pinned in conformance/package.json) against the binary over HTTP
	conformance/run.sh

client: ## the official MCP TypeScript client (pinned in conformance/client/package.json) drives the binary in revision 2026-07-28 over HTTP and stdio
	conformance/client/run.sh

race: ## every test under the race detector, then the tests that count how often a session ID or workflow name is checked (build tag countchecks)
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -race -count=1 -tags countchecks -run 'ChecksSessionID|WorkflowNameChecks|ParsesWorkflowTypeOnce' ./server/ ./engine/

stress: ## the concurrency tests again and again under -race for STRESSTIME (a Go duration: 90s, 10m, 1h30m)
	@secs=$$(scripts/seconds.sh '$(STRESSTIME)') || exit 2; \
	end=$$(( $$(date +%s) + secs )); n=0; \
	while [ $$(date +%s) -lt $$end ]; do n=$$((n+1)); \
		$(GO) test -race -count=1 -run 'Concurrent|Stampede|Race' ./... >/dev/null || { echo "stress: failed on run $$n"; exit 1; }; \
	done; echo "stress: $$n clean runs"

fuzz-smoke: ## every fuzz target fuzzes for SMOKETIME after its baseline coverage (retried up to SMOKEMAX; scripts/fuzz-smoke.sh)
	@scripts/fuzz-smoke.sh $(SMOKETIME) $(SMOKEMAX) $(FUZZ_TARGETS)

fuzz: ## every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m)
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); done

bench: ## in-module benchmarks, COUNT runs at CPU (output in bench.txt)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) -cpu $(CPU) ./... | tee bench.txt

benchstat: tools ## summarise bench.txt with benchstat
	$(BENCHSTAT) bench.txt

bench-peers: ## the peer comparison in bench/ (own module): interleaved rounds, benchstat, charts
	cd bench && ./run-peers.sh

cover: ## coverage profile and summary
	$(GO) test -count=1 -coverprofile=cover.out ./... && $(GO) tool cover -func=cover.out | tail -1

serve: ## run the server on stdio and HTTP with the built-in samples
	$(GO) run ./cmd/mcpflow serve

replicas: ## redis-server and two HTTP replicas sharing sessions, on loopback (scripts/replicas.sh)
	scripts/replicas.sh

ci: lint test ## what .ci/run does
