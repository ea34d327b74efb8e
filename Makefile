# gatescale — the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
CACHE := $(CURDIR)/.cache
BIN   := $(CACHE)/bin
export PATH := $(BIN):$(PATH)
GOFILES = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './vendor/*')

.PHONY: all demo demo-consul test lint fmt-check vet staticcheck unit deps bench fuzz tools clean help

all: test

help:
	@echo "make demo   - gateway + demo backends + load + live QPS view (no cluster, no servers)"
	@echo "make test   - gofmt, go vet, staticcheck, go test -race ./... (installs what it needs)"
	@echo "make bench  - Go benchmarks of the hot path (-benchmem)"

## demo: run the gateway on embedded defaults with a live view (Ctrl-C stops it)
demo:
	$(GO) run ./cmd/gatescale demo

## demo-consul: the same, with a real Consul agent: backends register themselves
demo-consul: deps
	$(GO) run ./cmd/gatescale demo -consul

## test: everything CI runs
test: lint unit

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt -l lists unformatted files:"; echo "$$out"; exit 1; fi
	@echo "gofmt: ok"

vet:
	$(GO) vet ./...

tools:
	hack/install-tools.sh

staticcheck: tools
	$(BIN)/staticcheck ./...

## deps: the real servers tests run against, built or installed once and cached
deps: tools
	hack/build-consul.sh
	hack/install-debs.sh prometheus redis-server

# GATESCALE_REQUIRE_REAL turns "server not installed" from a skip into a failure.
unit: deps
	GATESCALE_REQUIRE_REAL=1 $(GO) test -race -count=1 -timeout 20m ./...

## bench: hot-path benchmarks (route match + pick, whole proxy path, middleware)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./gateway/...

clean:
	rm -rf $(CACHE)
