#!/usr/bin/env bash
# Runs on the GPU device machine (see bench/gpu/prepare.sh): unpacks the Vulkan loader and Node, then
# runs one bundled benchmark with Dawn on the NVIDIA Vulkan driver, and tars the log and any results
# into $OUT/results.tar.gz. Usage: bash bench/gpu/run-on-device.sh bench/<name>.ts [args...]
set -uo pipefail
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
mkdir -p /tmp/pg && tar -C /tmp/pg -xJf .gpu-carry/node-bundle.tar.xz
export PATH="/tmp/pg/bin:$PATH" NODE_PATH=/tmp/pg/node_modules
export LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
entry="$1"; shift
bundle=".gpu-carry/bundle/$(basename "${entry%.ts}").mjs"
ln -sfn /tmp/pg/node_modules node_modules 2>/dev/null || true
mkdir -p /tmp/results
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; date -u; } > /tmp/results/device.txt 2>&1
node "$bundle" "$@" 2>&1 | tee /tmp/results/log.txt
rc=${PIPESTATUS[0]}
# The torch CUDA baseline (bench/torch_prompt_step.py) is CPU-only so far: a --device cuda option (TF32 off
# and on) is the next step for the GPU comparison the performance issue asks for.
tar -C /tmp -czf "$OUT/results.tar.gz" results
exit "$rc"
