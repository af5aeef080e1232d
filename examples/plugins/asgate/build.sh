#!/usr/bin/env bash
# Builds the asgate plugin with one command:
#
#     bash examples/plugins/asgate/build.sh [out.wasm]     (default: build/asgate.wasm here)
#
# The AssemblyScript compiler is installed by `npm ci` from the committed package-lock.json into a
# cache outside the repository (~/.cache/rocketsend/asgate/deps-<lockfile hash>), once per
# lockfile; then asc compiles assembly/ with asconfig.json (the result is cached under the hash of
# its inputs). Needs Node.js >= 20 and npm. Exit status 3 means node or npm is missing (the Go
# tests skip on it outside CI and fail under CI=true).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build/asgate.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "asgate/build.sh: node and npm are needed to build the AssemblyScript plugin (Node.js >= 20)" >&2
  exit 3
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/rocketsend/asgate"
tmp= part=
trap 'rm -rf "$tmp" "$part"' EXIT
key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
deps="$cache/deps-$key"
if [ ! -f "$deps/node_modules/assemblyscript/bin/asc.js" ]; then
  mkdir -p "$cache"
  # Install into a private directory, then rename it into place: concurrent builds (go test runs
  # packages in parallel) never see a half-installed tree, and the loser of the race keeps the
  # winner's copy.
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  cp "$here/package.json" "$here/package-lock.json" "$tmp/"
  (cd "$tmp" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  mv -T "$tmp" "$deps" 2>/dev/null || true
fi

# The compiled module is cached too, keyed by everything that goes into it (this script, the
# compiler's lockfile and options, the sources): asc takes seconds, and several test binaries
# build the plugin.
cd "$here"
src=$(cat build.sh package-lock.json asconfig.json $(find assembly -type f -name '*.ts' | LC_ALL=C sort) | sha256sum | cut -c1-16)
built="$cache/asgate-$src.wasm"
if [ ! -f "$built" ]; then
  part=$(mktemp "$cache/asgate.XXXXXX")
  node "$deps/node_modules/assemblyscript/bin/asc.js" assembly/index.ts \
    --config asconfig.json --target release --outFile "$part"
  mv -f "$part" "$built"
fi
mkdir -p "$(dirname "$out")"
cp "$built" "$out"
