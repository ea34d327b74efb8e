# gatescale — the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
CACHE := $(CURDIR)/.cache
BIN   := $(CACHE)/bin
export PATH := $(BIN):$(PATH)
GOFILES = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './vendor/*')

.PHONY: all demo demo-consul test lint fmt-check vet staticcheck unit deps e2e-deps e2e e2e-plot bench fuzz tools clean help image image-test

all: test

help:
	@echo "make demo   - gateway + demo backends + load + live QPS view (no cluster, no servers)"
	@echo "make test   - gofmt, go vet, staticcheck, go test -race ./... (installs what it needs)"
	@echo "make bench  - Go benchmarks of the hot path (-benchmem)"
	@echo "make image  - the gatescale and gatescale-adapter images, tagged $$(cat VERSION) (offline, podman)"

## demo: run the gateway on embedded defaults with a live view (Ctrl-C stops it)
demo:
	$(GO) run ./cmd/gatescale demo

## demo-consul: the same, with a real Consul agent: backends register themselves
demo-consul: deps
	$(GO) run ./cmd/gatescale demo -consul

## test: everything CI runs
test: lint unit image-test e2e

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
	hack/install-debs.sh prometheus redis-server chromium

# GATESCALE_REQUIRE_REAL turns "server not installed" from a skip into a failure.
unit: deps
	GATESCALE_REQUIRE_REAL=1 $(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e '/test/e2e$$' -e '/test/image$$')

## image: ghcr.io/gatescale/gatescale:$(cat VERSION) and .../gatescale-adapter, built offline
## (static binaries + FROM scratch; podman/buildah from Debian, installed if missing)
image:
	hack/build-images.sh

## image-test: builds the images and runs them with podman (see test/image)
image-test:
	GATESCALE_REQUIRE_REAL=1 $(GO) test -count=1 -timeout 20m -v ./test/image/

## e2e: the HPA scales real gateway processes on a real control plane (see docs/autoscaling.md)
e2e-deps: deps
	hack/build-kube.sh
	hack/install-debs.sh etcd-server

e2e: e2e-deps
	GATESCALE_REQUIRE_REAL=1 GATESCALE_REQUIRE_KUBE=1 $(GO) test -count=1 -timeout 40m -v ./test/e2e/ ./manifests/ 2>&1 | tee test/e2e/out.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|e2e|plan|forecast|requests'; exit $${PIPESTATUS[0]}

## e2e-plot: run the e2e and regenerate docs/autoscaling.{svg,csv,txt}
e2e-plot: e2e-deps
	GATESCALE_REQUIRE_REAL=1 GATESCALE_REQUIRE_KUBE=1 GATESCALE_E2E_DOCS=$(CURDIR)/docs $(GO) test -count=1 -timeout 40m -v -run TestHPAScalesGatewayOnQPS ./test/e2e/

## fuzz: each fuzz target for FUZZTIME; a failing input is saved under the package's testdata/fuzz/ and replayed by go test from then on
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./gateway/config
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/yamldoc
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizePath$$' -fuzztime $(FUZZTIME) ./gateway/route
	$(GO) test -run '^$$' -fuzz '^FuzzJWTMiddleware$$' -fuzztime $(FUZZTIME) ./gateway/authn
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeValidate$$' -fuzztime $(FUZZTIME) ./gateway/spec
	$(GO) test -run '^$$' -fuzz '^FuzzParseCacheControl$$' -fuzztime $(FUZZTIME) ./gateway/cache
	$(GO) test -run '^$$' -fuzz '^FuzzParsePath$$' -fuzztime $(FUZZTIME) ./gateway/transform
	$(GO) test -run '^$$' -fuzz '^FuzzParseTemplate$$' -fuzztime $(FUZZTIME) ./gateway/compose

## bench: hot-path benchmarks (route match + pick, whole proxy path, middleware)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./gateway/...

clean:
	rm -rf $(CACHE)
