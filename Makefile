# The two commands of the README. Everything they need (RocketMQ jars, JDK if missing) is fetched by
# the project's own scripts into caches outside the repository or gitignored folders.

.PHONY: demo test test-matrix plugins bench bench-java soak fuzz proto proto-check

## demo: start a local RocketMQ, build the example plugins, send in every mode through them, read each message back, stop.
demo:
	go run ./cmd/rocketsend demo

## test: the whole test suite against a real local RocketMQ (what .ci/run runs): everything against the
## default release (5.3.3), then a compact matrix against 4.9.7 and 5.5.1 (MATRIX_VERSIONS).
test:
	bash tools/test.sh

## test-matrix: the whole suite against each RocketMQ release in VERSIONS, one after the other.
VERSIONS ?= 4.9.7 5.3.3 5.5.1
test-matrix:
	@for v in $(VERSIONS); do echo "== RocketMQ $$v" >&2; RMQ_VERSION=$$v MATRIX_VERSIONS= bash tools/test.sh || exit 1; done

## plugins: build the five example plugins as wasm modules into examples/config/plugins/ (gitignored),
## where examples/config/rocketsend.hcl and the README's commands expect them.
PLUGINS = policy redact tracing keyhash zoneaffinity
plugins:
	@mkdir -p examples/config/plugins
	@for p in $(PLUGINS); do \
	  echo "examples/config/plugins/$$p.wasm"; \
	  GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -o examples/config/plugins/$$p.wasm ./examples/plugins/$$p || exit 1; \
	done

## bench: codec and transport benchmarks (figures go to docs/performance.md).
bench:
	go test -run='^$$' -bench=. -benchmem ./core/...

## bench-java: rocketsend, rocketsend auto-batch, the official Java producer, Java autoBatch and the
## raw-frame floor (bench --mode floor), same cluster, clients alternating, for each load: async
## (VERSUS_INFLIGHT in flight), sync and oneway (VERSUS_SENDERS senders). Prints per load and client the
## median msgs/s (min-max), client and broker CPU per 100k msgs, p50/p99, and the ratios to Java, Java
## autoBatch and the floor; fails if any client's message is not stored. Knobs: VERSUS_COUNT (30000),
## VERSUS_SIZE (1024), VERSUS_INFLIGHT (512), VERSUS_SENDERS (4), VERSUS_ROUNDS (3),
## VERSUS_MODES (async,sync,oneway), VERSUS_CLIENTS (rocketsend,rocketsend-auto-batch,java,java-auto-batch,floor),
## VERSUS_PIN (1: each client alone on CPU 0, the brokers on the others).
bench-java:
	ROCKETSEND_VERSUS_JAVA=1 go test -count=1 -run '^TestVersusJava$$' -v -timeout 180m ./cmd/rocketsend

## soak: kill -9 and SIGSTOP of broker-b, each under SOAK_COUNT async sends and SOAK_COUNT sync sends
## from 4 goroutines, on a private cluster; every ack read back. Outside CI (about 11 minutes on a quiet machine for the
## default count); writes its figures to docs/performance.md (section "Broker faults under load").
SOAK_COUNT ?= 1000000
soak:
	SOAK_COUNT=$(SOAK_COUNT) SOAK_FIGURES=$(CURDIR)/docs/performance.md \
	  go test -count=1 -run '^TestBrokerFaultsUnderLoad$$' -v -timeout 300m ./integration

## fuzz: run every fuzz target for FUZZTIME each (the seed corpora already run under make test).
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./core/codec ./config ./examples/plugins/asgate ./plugins/hooks/trace; do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; go test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## proto: regenerate sdk/hookgrpc from service.proto with the pinned protoc, protoc-gen-go and
## protoc-gen-go-grpc (fetched by tools/proto/gen.sh into ~/.cache/rocketsend/proto).
proto:
	bash tools/proto/gen.sh

## proto-check: fail if the committed generated code differs from a fresh generation.
proto-check:
	bash tools/proto/gen.sh --check
