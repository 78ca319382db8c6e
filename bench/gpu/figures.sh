#!/usr/bin/env bash
# Issue #9's GPU figures in one device call (after `bash bench/gpu/prepare.sh bench/prompt-step.ts`):
# workloads (1) bert-base soft prompt and (2) roberta-large prefix tuning, each on PromptGrad WebGPU
# (rows needed / all, f32 weights / f16 weights) and torch CUDA fp32 (TF32 off, then on), interleaved
# REPS times. JSON lines in /tmp/results/figures.jsonl, everything tarred to $OUT/results.tar.gz.
#   device tool: carry [".gpu-carry", ".gl"], command "bash bench/gpu/figures.sh" (REPS=2 WORKLOADS=... to trim)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/device-env.sh
REPS=${REPS:-2}
WORKLOADS=${WORKLOADS:-"bert-base roberta-large"}
PG=".gpu-carry/bundle/prompt-step.mjs"
J=/tmp/results/figures.jsonl
run() { "$@" 2>>/tmp/results/log.txt | tee -a "$J" || echo "# failed: $*" | tee -a /tmp/results/log.txt; }
for wl in $WORKLOADS; do
  for rep in $(seq "$REPS"); do
    run python3 bench/torch_prompt_step.py --workload "$wl" --device cuda --steps 10 --warmup 3 --json
    run python3 bench/torch_prompt_step.py --workload "$wl" --device cuda --tf32 --steps 10 --warmup 3 --json
    run node "$PG" --backend webgpu --workload "$wl" --steps 10 --warmup 3 --json
    run node "$PG" --backend webgpu --workload "$wl" --rows all --steps 10 --warmup 3 --json
    run node "$PG" --backend webgpu --workload "$wl" --weights f16 --steps 10 --warmup 3 --json
  done
done
tar -C /tmp -czf "$OUT/results.tar.gz" results
