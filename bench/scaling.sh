#!/usr/bin/env bash
# How the prompt-tuning step's time and peak memory grow (BENCHMARKS.md "Scaling"): sequence length,
# batch, prompt length and model size, one parameter at a time from bert-small (batch 8, seq 64,
# 20 prompt tokens), for torch (best kernel, bench/torch_prompt_step.py), PromptGrad wasm f32 and
# PromptGrad wasm int8, interleaved point by point, each on ONE thread (THREADS=1; the plot shows the
# process's CPU time per step, which a loaded shared box disturbs far less than the wall clock, and
# peak RSS). JSON lines to $OUT
# (default bench/scaling.jsonl); bench/scaling-plot.ts draws them.
#   bash bench/scaling.sh                 # STEPS=3 WARMUP=5 (V8 tiers the autograd's JS up over the first steps); REPS=1
# PG_NODES: the Node binaries the PromptGrad points run under, each in turn (default: the one on PATH), e.g.
#   PG_NODES="node $(bash scripts/fetch-node.sh 24)" bash bench/scaling.sh   (V8 13.6: the VNNI int8 GEMM)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/scaling.jsonl}
STEPS=${STEPS:-3}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-5}
PY=${PY:-/usr/bin/python3}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PG_NODES=${PG_NODES:-node}
: >"$OUT"
point() { # sweep value workload batch seq prompt
  local sweep=$1 value=$2 wl=$3 b=$4 s=$5 p=$6 tag
  tag="\"sweep\":\"$sweep\",\"value\":$value,\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\","
  echo "# $sweep=$value $(date -u +%T) load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
  $PY bench/torch_prompt_step.py --workload "$wl" --batch "$b" --seq "$s" --prompt "$p" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" --json |
    sed "s/^{/{$tag/" >>"$OUT"
  for pg in $PG_NODES; do
    for w in f32 int8; do
      "$pg" --import ./scripts/register.mjs bench/prompt-step.ts --backend wasm --threads "$THREADS" --weights "$w" --workload "$wl" \
        --batch "$b" --seq "$s" --prompt "$p" --steps "$STEPS" --warmup "$WARMUP" --json | sed "s/^{/{$tag/" >>"$OUT"
    done
  done
}
# BERT has 512 positions and the 20 prompt tokens take some: the longest text is 490
for s in 64 128 256 490; do point seq "$s" bert-small 8 "$s" 20; done
for b in 1 4 8 16 32; do point batch "$b" bert-small "$b" 64 20; done
for p in 4 20 50 100; do point prompt "$p" bert-small 8 64 "$p"; done
for wl in bert-small bert-base; do point model "\"$wl\"" "$wl" 8 64 20; done
echo "# done $(date -u +%T) load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
