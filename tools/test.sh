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

step "local RocketMQ"
rmq=tools/rocketmq/rmq.sh
cleanup() { bash "$rmq" stop >/dev/null 2>&1 || true; bash "$rmq" stop --auth >/dev/null 2>&1 || true; }
trap cleanup EXIT
if ! out=$(bash "$rmq" start); then
  if [ "${CI:-}" = "true" ]; then
    echo "CI: the local RocketMQ did not start; failing (integration tests never skip in CI)" >&2
    bash "$rmq" logs >&2 || true
    exit 1
  fi
  echo "warning: no local RocketMQ; integration tests will skip" >&2
else
  eval "$(bash "$rmq" env)"
  export RMQ_NAMESRV RMQ_BROKER_A RMQ_BROKER_B
  echo "$out" | tail -n 1 >&2
fi

step "go test -race"
# -count=1: never report a cached result for tests that talk to a live broker.
go test -race -count=1 -timeout 30m "$@" ./...
