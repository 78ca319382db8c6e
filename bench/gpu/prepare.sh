#!/usr/bin/env bash
# Prepares what a GPU device run needs (the device machine has no Node.js). Run here, in the repo root:
#   bash bench/gpu/prepare.sh bench/prompt-step.ts bench/attention-webgpu.ts ...
# It writes the ignored folder .gpu-carry/ (Node binary + webgpu's linux-x64 Dawn, xz-packed; the
# benchmark scripts bundled with esbuild so the device needs no TypeScript loader) and .gl/ (the Vulkan
# loader .deb files, as the device README describes). Then call the device tool with
#   carry: [".gpu-carry", ".gl"], command: "bash bench/gpu/run-on-device.sh bench/prompt-step.ts --backend webgpu"
# issue #9 GPU set: then command "bash bench/gpu/figures.sh". Untested on a device as of 2026-11-23 (no
# session has had a GPU yet): check the first run's log.
set -euo pipefail
cd "$(dirname "$0")/../.."
exclude="$(git rev-parse --git-dir)/info/exclude"; mkdir -p "$(dirname "$exclude")"
grep -qx "/.gpu-carry/" "$exclude" 2>/dev/null || echo "/.gpu-carry/" >> "$exclude"
grep -qx "/.gl/" "$exclude" 2>/dev/null || echo "/.gl/" >> "$exclude"
rm -rf .gpu-carry && mkdir -p .gpu-carry/bundle .gl

# 1. the benchmark entry points, bundled (webgpu stays external: it loads a native module)
for entry in "$@"; do
  out=".gpu-carry/bundle/$(basename "${entry%.ts}").mjs"
  npx esbuild "$entry" --bundle --platform=node --format=esm --target=node20 --external:webgpu \
    --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);" --outfile="$out" --log-level=warning
done

# 2. node + the webgpu package (linux-x64 Dawn only), one xz archive
stage="$(mktemp -d)"
mkdir -p "$stage/bin" "$stage/node_modules"
cp "$(command -v node)" "$stage/bin/node"
cp -r node_modules/webgpu "$stage/node_modules/webgpu"
find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name 'linux-x64' ! -name '*.js' ! -name '*.d.ts' -exec rm -rf {} +
for dep in $(node -e "console.log(Object.keys(require('./node_modules/webgpu/package.json').dependencies ?? {}).join(' '))"); do
  mkdir -p "$(dirname "$stage/node_modules/$dep")"; cp -r "node_modules/$dep" "$stage/node_modules/$dep"
done
tar -C "$stage" -cJf .gpu-carry/node-bundle.tar.xz bin node_modules
rm -rf "$stage"

# 3. the Vulkan loader (and EGL/GL libraries) as .deb files, amd64
mkdir -p /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update -qq
(cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpu-carry .gl
