#!/usr/bin/env bash
# Every CPU figure of BENCHMARKS.md in one go: the prompt-tuning step on torch (2 threads), the WASM
# backend (default threads; again with --rows all, every row of every layer as HF computes, unless
# SKIP_ALL_ROWS=1), TensorFlow.js on tfjs-backend-wasm (bench/tfjs-prompt-step.ts; bert-base
# only with TFJS_BASE=1: at batch 32 its tape outgrows the 4 GiB wasm32 heap and it aborts) and, for
# bert-small, the CPU reference (one step: it takes about a minute), repeated REPS times interleaved
# (the box is shared: medians of interleaved runs are fairer), then square-matmul GFLOP/s. Prints the
# median ms/step per workload and each ratio to torch.
#   bash bench/run-cpu.sh            # REPS=3 WORKLOADS="bert-small bert-base" SKIP_CPU=1 to trim
#   Steps per run: bert-small STEPS=30 WARMUP=15 (steady state, below); bert-base / roberta-large BASE_STEPS=2 BASE_WARMUP=1 BASE_REPS=1.
#   SKIP_INT8=1 leaves out the int8 runs, SKIP_ALL_ROWS=1 the --rows all runs, SKIP_TFJS=1 tfjs, SKIP_MATMUL=1
#   the square-matmul GFLOP/s. The big models with int8, in about 20 minutes on a quiet 2-core box:
#   WORKLOADS="bert-base roberta-large" BASE_REPS=2 BASE_STEPS=2 SKIP_ALL_ROWS=1 SKIP_MATMUL=1 bash bench/run-cpu.sh
#   TFJS_CPU=1 adds one 2-step run of tfjs's pure-JS cpu backend on bert-small (about 12 s a step), as
#   node --import ./scripts/register.mjs bench/tfjs-prompt-step.ts --backend cpu --workload bert-small --steps 2 --warmup 1
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
WORKLOADS=${WORKLOADS:-"bert-small bert-base"}
PY=${PY:-/usr/bin/python3}
# torch's kernels: bench/torch_prompt_step.py picks the best OpenBLAS core this CPU supports (from
# /proc/cpuinfo: Cooperlake/SkylakeX with AVX-512, Haswell with AVX2) and ATen's AVX-512 kernels, and drops
# OPENBLAS_L2_SIZE, in its own process only (--blas-core/--aten-capability auto). The environment of these
# machines sets OPENBLAS_CORETYPE=Haswell, which ran torch's AVX2 kernels on an AVX-512 CPU (2x slower).
# TORCH_KERNELS="--blas-core env --aten-capability env" measures the environment's choice instead.
TORCH_KERNELS=${TORCH_KERNELS:-}
# GOMP's wait policy: ACTIVE (its default, threads spin between parallel regions) is torch's fastest on a quiet
# box (bert-small 32.5 ms/step against 45 passive, 2026-12-08), but collapses when other jobs share the 2 cores
# (5.8 s/step against 0.45 s passive, measured on a loaded box). So every rep runs torch under each policy of
# TORCH_WAITS and the baseline row "torch" is, rep by rep, the faster of the two: torch's best configuration on
# whatever the box is doing. TORCH_WAITS=PASSIVE (or ACTIVE) runs one.
TORCH_WAITS=${TORCH_WAITS:-"PASSIVE ACTIVE"}
export OMP_WAIT_POLICY=PASSIVE # the kernel check below and the matmul line: short, and safe on a shared box
NODE="node --import ./scripts/register.mjs"
# The Node binaries the PromptGrad rows run under, each in turn (default: the one on PATH). A newer V8 runs
# other kernels (core/backend/wasm/int8-kernel.ts: V8 13.6 lowers the fused int8 dot to AVX-VNNI), e.g.
#   PG_NODES="node $(bash scripts/fetch-node.sh 24)" bash bench/run-cpu.sh
PG_NODES=${PG_NODES:-node}
OUT=$(mktemp)
# a tfjs run that dies (bert-base: out of wasm heap) is reported, not fatal
tfjs() { $NODE bench/tfjs-prompt-step.ts "$@" --json | tee -a "$OUT" || echo "# tfjs-prompt-step $* failed" >&2; }
echo "# $(date -u) | $(nproc) cores | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | load:$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# blas: $(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu) environment OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset}; torch runs under OMP_WAIT_POLICY=${TORCH_WAITS// /, }"
# Which kernels torch runs, and that they do not change its loss: one short bert-small run with the
# environment's kernels and one with the best, same seed. Different GEMM kernels may round differently,
# so the losses are printed side by side with their difference (measured: identical to the last bit).
$PY bench/torch_prompt_step.py --steps 1 --warmup 0 --blas-core env --aten-capability env --json >"$OUT.env"
$PY bench/torch_prompt_step.py --steps 1 --warmup 0 $TORCH_KERNELS --json >"$OUT.best"
node -e '
  const [env, best] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
  const k = (r) => `OpenBLAS ${r.blasCore} (asked ${r.blasCoreRequested}), ATen ${r.atenCapability}`;
  console.log(`# torch kernels: environment: ${k(env)}, loss ${env.loss}; benchmarked: ${k(best)}, loss ${best.loss}; |difference| ${Math.abs(env.loss - best.loss)}`);
' "$OUT.env" "$OUT.best"
rm -f "$OUT.env" "$OUT.best"
for wl in $WORKLOADS; do
  # bert-small: 30 timed steps after 15 warm-up, on every side. The figure is the steady-state step (a prompt-
  # tuning run takes hundreds): V8 tiers the autograd's JavaScript up over the first ~10 steps (measured 2026-12-08:
  # PromptGrad int8 steps 1-10 at 36-63 ms, then 29-34; torch is steady from its second step), so 3 warm-up steps
  # timed part of the JIT's warm-up as PromptGrad's step. prompt-step.ts's JSON keeps the warm-up steps' times.
  # bert-base and roberta-large (issue #9's workloads 1 and 2; WORKLOADS=roberta-large, ~4 min a repetition): 2 steps after 1
  steps=${STEPS:-30}; warm=${WARMUP:-15}; reps=$REPS
  if [ "$wl" != bert-small ]; then steps=${BASE_STEPS:-2}; warm=${BASE_WARMUP:-1}; reps=${BASE_REPS:-1}; fi
  for rep in $(seq "$reps"); do
    echo "# $wl rep $rep $(date -u +%T) load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for wait in $TORCH_WAITS; do
      OMP_WAIT_POLICY=$wait $PY bench/torch_prompt_step.py --workload "$wl" --steps "$steps" --warmup "$warm" $TORCH_KERNELS --json |
        sed "s/^{/{\"ompWait\": \"$wait\", /" | tee -a "$OUT"
    done
    for pg in $PG_NODES; do
      "$pg" --import ./scripts/register.mjs bench/prompt-step.ts --backend wasm --workload "$wl" --steps "$steps" --warmup "$warm" --json | tee -a "$OUT"
      # int8 frozen weights (core/tensor/int8.ts): the integer GEMMs (SKIP_INT8=1 to leave out)
      if [ -z "${SKIP_INT8:-}" ]; then
        "$pg" --import ./scripts/register.mjs bench/prompt-step.ts --backend wasm --weights int8 --workload "$wl" --steps "$steps" --warmup "$warm" --json | tee -a "$OUT"
      fi
    done
    # every row of every layer, as HF computes (the same loss and gradients): what the row pruning is worth
    if [ -z "${SKIP_ALL_ROWS:-}" ]; then
      $NODE bench/prompt-step.ts --backend wasm --rows all --workload "$wl" --steps "$steps" --warmup "$warm" --json | tee -a "$OUT"
    fi
    if [ -z "${SKIP_TFJS:-}" ] && { [ "$wl" = bert-small ] || [ -n "${TFJS_BASE:-}" ]; }; then
      tfjs --backend wasm --threads 2 --workload "$wl" --steps 10 --warmup "$warm"
    fi
  done
  if [ "$wl" = bert-small ] && [ -z "${SKIP_CPU:-}" ]; then
    $NODE bench/prompt-step.ts --backend cpu --workload "$wl" --steps 1 --warmup 1 --json | tee -a "$OUT"
  fi
  if [ "$wl" = bert-small ] && [ -n "${TFJS_CPU:-}" ]; then
    tfjs --backend cpu --workload "$wl" --steps 2 --warmup 1
  fi
done
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  for (const wl of [...new Set(rows.map((r) => r.workload))]) {
    // with several PG_NODES, the PromptGrad rows are told apart by their Node major version
    const nodes = new Set(rows.filter((r) => r.node).map((r) => r.node));
    const name = (r) => r.backend + (r.ompWait ? " " + r.ompWait.toLowerCase() : "") + (r.weights && r.weights !== "f32" ? " " + r.weights : "") + (r.rows === "all" ? " all-rows" : "") + (nodes.size > 1 && r.node ? " node" + r.node.slice(1).split(".")[0] : "");
    const of = (b) => rows.filter((r) => r.workload === wl && name(r) === b);
    // "torch": rep by rep the faster of the torch runs under each OMP wait policy (its best configuration)
    const waits = [...new Set(rows.filter((r) => r.workload === wl && r.ompWait).map((r) => r.ompWait.toLowerCase()))];
    const best = of("torch " + waits[0]).map((r, i) => waits.map((w) => of("torch " + w)[i]).filter(Boolean).reduce((a, x) => (x.msPerStep < a.msPerStep ? x : a), r));
    const by = (b) => (b === "torch" ? best : of(b));
    const names = ["torch", ...new Set(rows.filter((r) => r.workload === wl).map(name))];
    const m = Object.fromEntries(names.map((b) => [b, by(b).length ? med(by(b).map((r) => r.msPerStep)) : undefined]));
    for (const b of names) if (m[b] !== undefined) {
      const rss = Math.max(...by(b).map((r) => r.peakRssMiB)), tok = med(by(b).map((r) => r.tokensPerS));
      // the i-th run of each backend ran right after the i-th torch run: their ratio shows the spread
      const paired = by(b).map((r, i) => (by("torch")[i] ? (r.msPerStep / by("torch")[i].msPerStep).toFixed(2) : "-")).join(" ");
      const kernel = b.startsWith("torch") ? ` [OpenBLAS ${by(b)[0].blasCore}, ATen ${by(b)[0].atenCapability}, OMP wait ${by(b).map((r) => r.ompWait).join(" ")}]` : b.startsWith("wasm") ? ` [threads ${by(b)[0].threads}${by(b)[0].weightsKernel ? `, ${by(b)[0].weightsKernel}` : ""}]` : "";
      console.log(`${wl.padEnd(11)} ${b.padEnd(17)} ${m[b].toFixed(1).padStart(9)} ms/step  ${String(tok).padStart(7)} tokens/s  peak ${rss} MiB  ratio/torch ${(m[b] / m.torch).toFixed(2)}  (n=${by(b).length}; per run ${paired})${kernel}`);
    }
  }' "$OUT"
if [ -z "${SKIP_MATMUL:-}" ]; then
  echo "# matmul GFLOP/s (square, f32)"
  $NODE bench/matmul-cpu.ts --sizes 512,1024,2048 --backends cpu,wasm1,wasm2
  for wait in $TORCH_WAITS; do
    echo "# torch OMP_WAIT_POLICY=$wait"
    OMP_WAIT_POLICY=$wait $PY bench/torch_prompt_step.py --matmul 512,1024,2048 --threads 2 $TORCH_KERNELS
  done
fi
echo "# done $(date -u) load:$(cut -d' ' -f1-3 /proc/loadavg)"
