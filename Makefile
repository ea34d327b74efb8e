# gatescale — the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
CACHE := $(CURDIR)/.cache
BIN   := $(CACHE)/bin
export PATH := $(BIN):$(PATH)
GOFILES = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './vendor/*')

.PHONY: all demo demo-consul test lint fmt-check vet staticcheck unit deps e2e-deps e2e e2e-plot bench bench-adapter bench-compare bench-peers fuzz tools clean help image image-test schema prometheus3 test-prometheus3

all: test

help:
	@echo "make demo   - gateway + demo backends + load + live QPS view (no cluster, no servers)"
	@echo "make test   - gofmt, go vet, staticcheck, go test -race ./... (installs what it needs)"
	@echo "make bench  - Go benchmarks of the hot path (-benchmem)"
	@echo "make bench-compare - gatescale side by side with nginx, Caddy, Traefik, lura (docs/performance.md)"
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
	hack/build-jaeger.sh
	hack/install-debs.sh prometheus redis-server wrk nginx-light chromium

## prometheus3: Prometheus 3.16 built from the Go module proxy into .cache/bin/prometheus3, for the
## adapter's smoothing-forecast tests against Prometheus 3. Not in deps: cold it costs ~6.5 CPU-minutes
## (see hack/build-prometheus3.sh); without it those tests skip, saying so.
prometheus3:
	hack/build-prometheus3.sh

## test-prometheus3: the adapter's forecast tests (and `query`'s plans of them) against Prometheus 3 (and 2.42), failing if either is missing
test-prometheus3: deps prometheus3
	GATESCALE_REQUIRE_REAL=1 GATESCALE_REQUIRE_PROMETHEUS3=1 $(GO) test -race -count=1 -run 'Smoothing|Forecast' ./adapter/provider/ ./cmd/gatescale-adapter/

# GATESCALE_REQUIRE_REAL turns "server not installed" from a skip into a failure.
# e2e-deps: adapter/kube's informer test runs against a real kube-apiserver and etcd (built once for
# the e2e anyway, so the run is no longer).
unit: e2e-deps
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
	$(GO) test -run '^$$' -fuzz '^FuzzParseTimeout$$' -fuzztime $(FUZZTIME) ./gateway/grpcproxy
	$(GO) test -run '^$$' -fuzz '^FuzzParseGRPCCheckResponse$$' -fuzztime $(FUZZTIME) ./gateway/health
	$(GO) test -run '^$$' -fuzz '^FuzzLine$$' -fuzztime $(FUZZTIME) ./gateway/accesslog
	$(GO) test -run '^$$' -fuzz '^FuzzParseTemplate$$' -fuzztime $(FUZZTIME) ./gateway/compose
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/jsonvalue
	$(GO) test -run '^$$' -fuzz '^FuzzAppend$$' -fuzztime $(FUZZTIME) ./internal/jsonvalue
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeLikeEncodingJSON$$' -fuzztime $(FUZZTIME) ./internal/jsonvalue
	$(GO) test -run '^$$' -fuzz '^FuzzOf$$' -fuzztime $(FUZZTIME) ./internal/mediatype
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChange$$' -fuzztime $(FUZZTIME) ./gateway/admin
	$(GO) test -run '^$$' -fuzz '^FuzzSanitize$$' -fuzztime $(FUZZTIME) ./gateway/refusallog
	$(GO) test -run '^$$' -fuzz '^FuzzPropagation$$' -fuzztime $(FUZZTIME) ./gateway/tracing
	$(GO) test -run '^$$' -fuzz '^FuzzHTTP1Answer$$' -fuzztime $(FUZZTIME) ./gateway/proxy
	$(GO) test -run '^$$' -fuzz '^FuzzParseKeys$$' -fuzztime $(FUZZTIME) ./gateway/authn
	$(GO) test -run '^$$' -fuzz '^FuzzResolveClient$$' -fuzztime $(FUZZTIME) ./gateway/request
	$(GO) test -run '^$$' -fuzz '^FuzzParsePrefix$$' -fuzztime $(FUZZTIME) ./gateway/ipaccess
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./adapter/config

## bench-peers: nginx and wrk from Debian; Caddy, Traefik and lura built from the Go module proxy into
## .cache/peers (cold: ~12 min for Caddy + Traefik on 2 cores; cached afterwards)
bench-peers:
	hack/build-peers.sh

## bench-compare: gatescale side by side with the peers (wrk, alternating rounds, fixed-rate latency);
## prints the report and writes it into docs/performance.md. `make test` runs only its smoke test (bench/).
BENCH_FLAGS ?=
# A peer that fails to build is reported "not built" in the table, not an error here.
bench-compare:
	hack/build-peers.sh || echo "make bench-compare: some peers did not build; they are reported as not built"
	$(GO) build -o $(BIN)/bench-compare ./bench/compare
	$(BIN)/bench-compare -peers $(CACHE)/peers -out docs/performance.md $(BENCH_FLAGS)

## schema: regenerate docs/gatescale.schema.json from the configuration's Go types
## (a test in gateway/config fails while the committed file is stale)
schema:
	$(GO) generate ./gateway/config

## bench: hot-path benchmarks (route match + pick, whole proxy path, middleware)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./gateway/...

## bench-adapter: gatescale-adapter vs prometheus-adapter v0.12.0 at 1,000 pods (real control plane and
## Prometheus; prints a Markdown table, also written to .cache/bench-adapter.md)
bench-adapter: e2e-deps
	hack/build-prometheus-adapter.sh
	GATESCALE_BENCH=1 GATESCALE_BENCH_OUT=$(CACHE)/bench-adapter.md $(GO) test -count=1 -timeout 20m -v -run TestAdaptersAt1000Pods ./bench/adapter/

clean:
	rm -rf $(CACHE)
