#!/usr/bin/env bash
# gen.sh regenerates the committed gRPC code of the process plugin transport (sdk/hookgrpc) from
# sdk/hookgrpc/service.proto with pinned generators, fetched into a cache outside the repository:
#
#   protoc              from Maven Central (com.google.protobuf:protoc, classifier linux-x86_64 etc.)
#                       through mvn, as the project fetches its other jars
#   protoc-gen-go       go install google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO
#   protoc-gen-go-grpc  go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC
#
# Usage: tools/proto/gen.sh          (make proto)
#        tools/proto/gen.sh --check  exits 1 if the committed code differs from a fresh generation
#
# Environment: PROTO_CACHE (default ~/.cache/rocketsend/proto).
set -euo pipefail

PROTOC_VERSION=4.31.1          # protoc 31.1 (Maven's version scheme adds the "4." prefix)
PROTOC_GEN_GO=v1.36.12         # keep equal to google.golang.org/protobuf in go.mod
PROTOC_GEN_GO_GRPC=v1.6.1

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PROTO_CACHE:-$HOME/.cache/rocketsend/proto}
bin=$cache/bin-$PROTOC_VERSION-$PROTOC_GEN_GO-$PROTOC_GEN_GO_GRPC
mkdir -p "$bin"

log() { echo "proto: $*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) classifier=linux-x86_64 ;;
  Linux-aarch64) classifier=linux-aarch_64 ;;
  Darwin-x86_64) classifier=osx-x86_64 ;;
  Darwin-arm64) classifier=osx-aarch_64 ;;
  *) echo "proto: no protoc build for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

if [[ ! -x $bin/protoc ]]; then
  log "fetching protoc $PROTOC_VERSION ($classifier) with mvn"
  mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$cache/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="com.google.protobuf:protoc:$PROTOC_VERSION:exe:$classifier" \
    -DoutputDirectory="$bin" -Dmdep.stripVersion=false >&2
  mv "$bin/protoc-$PROTOC_VERSION-$classifier.exe" "$bin/protoc"
  chmod +x "$bin/protoc"
fi
if [[ ! -x $bin/protoc-gen-go ]]; then
  log "installing protoc-gen-go $PROTOC_GEN_GO"
  GOBIN=$bin GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
fi
if [[ ! -x $bin/protoc-gen-go-grpc ]]; then
  log "installing protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC"
  GOBIN=$bin GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
fi

gen() { # gen OUTDIR
  PATH="$bin:$PATH" protoc -I "$root" \
    --go_out="$1" --go_opt=paths=source_relative \
    --go-grpc_out="$1" --go-grpc_opt=paths=source_relative \
    sdk/hookgrpc/service.proto
}

if [[ ${1:-} == --check ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  gen "$tmp"
  for f in service.pb.go service_grpc.pb.go; do
    if ! cmp -s "$tmp/sdk/hookgrpc/$f" "$root/sdk/hookgrpc/$f"; then
      echo "proto: sdk/hookgrpc/$f is stale: run make proto" >&2
      exit 1
    fi
  done
  log "generated code is up to date"
  exit 0
fi
gen "$root"
log "regenerated sdk/hookgrpc/service.pb.go and service_grpc.pb.go"
