# hotrow: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
ADDR    ?= :8080
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test test-dsql test-deps lint bench loadtest clean

## run: the hub on the embedded store, UI at http://localhost:8080
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./server serve -addr $(ADDR)

## build: bin/hotrow
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/hotrow ./server

## test: installs what the tests need (PostgreSQL 15, node + dynalite), then lint and every test with -race
test: test-deps lint
	$(GO) test -race -count=1 -timeout 15m ./...

## test-dsql: the DSQL path alone, through the DSQL test double: the double against a
## real cluster's recordings, txn/dsql end to end, migrations (three at once), the
## stores, and 300 bidders on two hubs
test-dsql: test-deps
	$(GO) test -race -count=1 -timeout 10m ./internal/dsqldouble/ ./internal/pgtrace/ ./txn/dsql/
	$(GO) test -race -count=1 -timeout 10m -run 'DSQL' ./txn/... ./server/

## test-deps: PostgreSQL 15 server binaries, node, dynalite (idempotent, fast when present)
test-deps:
	bash scripts/test-deps.sh

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet and staticcheck (pinned)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: the benchmarks (numbers, not pass/fail)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## loadtest: 300 bidders against a running hub (make run in another terminal)
loadtest:
	$(GO) run ./server loadtest -url http://localhost:8080

clean:
	rm -rf bin
