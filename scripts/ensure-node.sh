#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major version (default 24), fetching it from the
# npm registry into .local/node/<major> when the machine has no such Node. The registry's
# node-<os>-<arch> packages ship the official Node.js binary, so nothing is downloaded from outside
# the npm registry.
#
#   export PATH="$(bash scripts/ensure-node.sh 24):$PATH"
set -euo pipefail
major="${1:-24}"
case "$major" in ''|*[!0-9]*) echo "usage: ensure-node.sh <major version>, e.g. 24" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"

current="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
if [ "$current" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "ensure-node.sh: no npm package of Node.js for $(uname -s); install Node.js $major yourself." >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ensure-node.sh: no npm package of Node.js for $(uname -m); install Node.js $major yourself." >&2; exit 1 ;;
esac

prefix="$root/.local/node/$major"
bin="$prefix/node_modules/node-$os-$arch/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]')" != "$major" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-$os-$arch@$major" >&2
fi
if [ ! -x "$bin/node" ]; then
  echo "ensure-node.sh: node-$os-$arch@$major installed no binary at $bin/node" >&2
  exit 1
fi
echo "$bin"
