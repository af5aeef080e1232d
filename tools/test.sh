#!/usr/bin/env bash
# The whole test suite, as the README's second command and .ci/run run it: static checks, then a
# real local RocketMQ (NameServer + two brokers, started by tools/rocketmq/rmq.sh), then every Go
# test with the race detector, then the cluster is stopped. With CI=true a missing Java, Maven or
# broker fails the run: the integration tests never skip in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.rmq/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi

step "go vet"
go vet ./...

step "go mod tidy leaves go.mod and go.sum as committed"
go mod tidy -diff

step "staticcheck (pinned)"
# The version is pinned here and nowhere else; the Go module proxy serves it.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "generated gRPC code is up to date (make proto-check)"
bash tools/proto/gen.sh --check

# start_cluster: the shared cluster of $RMQ_VERSION (rmq.sh's default when unset), its addresses
# and release exported for the tests. With CI=true a cluster that does not start fails the run.
rmq=tools/rocketmq/rmq.sh
cleanup() { bash "$rmq" stop >/dev/null 2>&1 || true; bash "$rmq" stop --auth >/dev/null 2>&1 || true; }
trap cleanup EXIT
start_cluster() {
  local out
  if ! out=$(bash "$rmq" start); then
    if [ "${CI:-}" = "true" ]; then
      echo "CI: the local RocketMQ ${RMQ_VERSION:-} did not start; failing (integration tests never skip in CI)" >&2
      bash "$rmq" logs >&2 || true
      exit 1
    fi
    echo "warning: no local RocketMQ ${RMQ_VERSION:-}; integration tests will skip" >&2
    unset RMQ_NAMESRV RMQ_BROKER_A RMQ_BROKER_B
    return 0
  fi
  eval "$(bash "$rmq" env)"
  export RMQ_NAMESRV RMQ_BROKER_A RMQ_BROKER_B RMQ_VERSION
  echo "$out" | tail -n 1 >&2
}

step "local RocketMQ ${RMQ_VERSION:-(default release)}"
t0=$SECONDS
start_cluster

step "go test -race (RocketMQ ${RMQ_VERSION:-none})"
# -count=1: never report a cached result for tests that talk to a live broker. A failure here still
# lets the matrix run, so one run reports every line's failures; the exit status says it failed.
rc=0
go test -race -count=1 -timeout 30m "$@" ./... || rc=$?
echo "whole suite against RocketMQ ${RMQ_VERSION:-none}: $((SECONDS - t0)) s" >&2

# The other release lines: a compact matrix of the real-broker tests (conformance witnessed by the
# Java client of the same line, failover, transactions with check-back, ACL, admin queries, the
# plugin end-to-end tests, the demo, Java's decoding of the trace records) against each of
# MATRIX_VERSIONS, one cluster at a time: every cluster of the previous release is stopped first. MATRIX_VERSIONS="" skips it; `make test-matrix` runs the
# whole suite against a list of releases instead.
MATRIX_VERSIONS="${MATRIX_VERSIONS-4.9.7 5.5.1}"
MATRIX_RUN='^(TestConformance|TestFailover|TestAdminQueries|TestSendAndReadBackEveryBroker|TestWasmPluginsEndToEnd|TestProcessPluginsEndToEnd|TestACLAgainstAuthBroker|TestVersionFeatures|TestDemo$|TestJavaDecodesTheTraceRecords)'
MATRIX_PKGS=(./integration/ ./core/send/ ./cmd/rocketsend/ ./plugins/hooks/trace/)
for v in $MATRIX_VERSIONS; do
  [ "$v" = "${RMQ_VERSION:-}" ] && continue
  cleanup
  export RMQ_VERSION="$v"
  step "local RocketMQ $v (matrix)"
  t0=$SECONDS
  start_cluster
  step "go test -race -run <matrix> (RocketMQ $v)"
  go test -race -count=1 -timeout 20m -run "$MATRIX_RUN" "$@" "${MATRIX_PKGS[@]}" || rc=$?
  echo "matrix against RocketMQ $v: $((SECONDS - t0)) s" >&2
done
exit "$rc"
