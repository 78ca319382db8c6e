#!/usr/bin/env bash
# Runs on the GPU device machine (see bench/gpu/prepare.sh): one bundled benchmark with Dawn on the
# NVIDIA Vulkan driver; the log and device info go to $OUT/results.tar.gz.
#   bash bench/gpu/run-on-device.sh bench/<name>.ts [args...]
# bench/gpu/figures.sh runs issue #9's whole GPU set (PromptGrad WebGPU and torch CUDA) in one call.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/device-env.sh
entry="$1"; shift
node ".gpu-carry/bundle/$(basename "${entry%.ts}").mjs" "$@" 2>&1 | tee /tmp/results/log.txt
rc=${PIPESTATUS[0]}
tar -C /tmp -czf "$OUT/results.tar.gz" results
exit "$rc"
