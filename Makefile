# hotrow: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
ADDR    ?= :8080
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test test-go test-fuzz test-deps test-deploy test-dsql lint bench bench-go bench-dsql loadtest loadtest-fleet soak image image-local clean

## run: the hub on the embedded store, UI at http://localhost:8080
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./server serve -addr $(ADDR)

## build: bin/hotrow
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/hotrow ./server

## test: installs what the tests need (PostgreSQL 15, node + dynalite, promtool, buildah), then lint, every test with -race and the deploy/ checks, beside a bounded fuzz run of every target
test: test-deps lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-go test-fuzz

## test-go: every test with -race (the fault runs included)
test-go:
	$(GO) test -race -count=1 -timeout 15m ./...
	$(DEPLOY_TEST)

# deploy/ is a module of its own (the Kubernetes, Prometheus and HCL
# libraries its checks use stay out of the hub's binary).
DEPLOY_TEST = cd deploy && $(GO) test -race -count=1 -timeout 5m ./...

## test-deploy: only the deploy/ checks: manifests, Terraform, promtool, dashboard against a live hub, image
test-deploy: test-deps
	$(DEPLOY_TEST)

## test-dsql: the DSQL path alone, through the DSQL test double: the double against a
## real cluster's recordings, txn/dsql end to end, migrations (three at once), the
## stores, and 300 bidders on two hubs
test-dsql: test-deps
	$(GO) test -race -count=1 -timeout 10m ./internal/dsqldouble/ ./internal/pgtrace/ ./txn/dsql/
	$(GO) test -race -count=1 -timeout 10m -run 'DSQL' ./txn/... ./server/

## test-fuzz: each fuzz target for FUZZTIME (30s), one after another (scripts/fuzz.sh), at the lowest
## CPU priority so that it takes only what the race suite leaves (its load tests race a clock)
test-fuzz:
	nice -n 19 bash scripts/fuzz.sh

## test-deps: PostgreSQL 15 server binaries, node, dynalite (idempotent, fast when present)
test-deps:
	bash scripts/test-deps.sh

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go.mod tidy, go vet and staticcheck (pinned) on both modules, terraform fmt -check
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd deploy && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	@# terraform is no Debian, npm or Go-proxy package: where it is missing,
	@# say so and go on; make test's TestTerraformFormatted checks the same
	@# layout with hclwrite, the formatter terraform fmt is built on.
	@if command -v terraform >/dev/null; then \
		TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff deploy/terraform; \
	else \
		echo "lint: terraform not found, skipping terraform fmt -check (TestTerraformFormatted still checks the layout); install it from https://developer.hashicorp.com/terraform/install"; \
	fi

CENTRIFUGO_VERSION := v6.9.1
BENCH_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hotrow-bench
CENTRIFUGO  := $(BENCH_CACHE)/centrifugo-$(CENTRIFUGO_VERSION)/centrifugo
PG_BIN      ?= /usr/lib/postgresql/15/bin
BENCH_FLAGS ?= -runs 5

## bench: fan-out side by side with Centrifugo, and the hot room's commit rate on PostgreSQL against raw SQL, as one table of medians over five runs (README, "Fan-out at scale"); BENCH_FLAGS="-runs 1 -sockets 2000" for a smaller run
bench: build $(CENTRIFUGO) bench-dsql
	@[ -x $(PG_BIN)/postgres ] || bash scripts/test-deps.sh
	bin/hotrow bench -centrifugo $(CENTRIFUGO) -pg-bin $(PG_BIN) $(BENCH_FLAGS)

# Centrifugo, pinned, from the module proxy into a cache directory (not the repository).
$(CENTRIFUGO):
	GOBIN=$(dir $@) $(GO) install github.com/centrifugal/centrifugo/v6@$(CENTRIFUGO_VERSION)

## bench-go: the Go benchmarks (numbers, not pass/fail)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-dsql: a hot room's commits per second on the DSQL test double at 2 ms a round trip, five round trips a bid
## against two, each against the ceiling of its statements without a hub (README, "Aurora DSQL"); about a minute
bench-dsql: test-deps
	HOTROW_BENCH_DSQL=1 $(GO) test -run '^$$' -bench '^BenchmarkHotRoomOnTheDSQLDouble$$' -benchtime 1x -count 1 -timeout 10m ./server/

## soak: a million messages in one room on PostgreSQL, restarts, a sustained mix, compaction (figures, about 6 minutes)
SOAK_MESSAGES ?= 1000000
SOAK_MIX      ?= 3m
soak: test-deps
	HOTROW_SOAK=1 HOTROW_SOAK_MESSAGES=$(SOAK_MESSAGES) HOTROW_SOAK_MIX=$(SOAK_MIX) \
		$(GO) test -count=1 -run '^TestSoak$$' -v -timeout 30m ./internal/soak/

## loadtest: 300 bidders against a running hub (make run in another terminal)
loadtest:
	$(GO) run ./server loadtest -url http://localhost:8080

IMAGE     ?= hotrow:$(VERSION)
CONTAINER ?= $(shell command -v docker || command -v podman || command -v buildah)

## image: the container image (deploy/Dockerfile) with docker, podman or buildah; IMAGE=repo:tag to name it
image:
	$(CONTAINER) build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) .

## image-local: the image's final stage from a binary built here, with buildah (no base image to pull)
image-local:
	rm -rf bin/image-stage && mkdir -p bin/image-stage/out bin/image-stage/etc/ssl/certs bin/image-context
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/image-stage/out/hotrow ./server
	cp /etc/ssl/certs/ca-certificates.crt bin/image-stage/etc/ssl/certs/
	buildah --storage-driver vfs build --isolation chroot --pull=never --build-context build=bin/image-stage \
		-f deploy/Dockerfile -t $(IMAGE) bin/image-context

FLEET_BIDDERS      ?= 3000
FLEET_AUCTION_FOR  ?= 60s
FLEET_OPEN_FOR     ?= 120s
FLEET_LATENCY_BIDS ?= 500

## loadtest-fleet: three hub processes on one PostgreSQL with NATS: FLEET_BIDDERS bidders with NATS restarted
## and one hub SIGKILLed mid-run, then cross-hub latency with NATS and with polling only (README, "Many hubs")
loadtest-fleet: test-deps
	HOTROW_FLEET_BIDDERS=$(FLEET_BIDDERS) HOTROW_FLEET_AUCTION_FOR=$(FLEET_AUCTION_FOR) HOTROW_FLEET_OPEN_FOR=$(FLEET_OPEN_FOR) \
	HOTROW_FLEET_LATENCY_BIDS=$(FLEET_LATENCY_BIDS) \
	$(GO) test -count=1 -timeout 30m -run '^TestFleet' -v ./server/

clean:
	rm -rf bin
