#!/usr/bin/env bash
# The bert-small step on ONE thread, torch (best kernel) against PromptGrad wasm f32 and int8, interleaved
# REPS times, reporting wall time and the process's CPU time per step (cpuMsPerStep). On a shared, loaded
# machine the wall clock of a 2-thread run measures the scheduler more than the code; one thread's CPU
# time is the work itself (cache sharing and clock still move it). Prints medians and per-run ratios.
#   REPS=5 bash bench/one-thread.sh [workload]      # STEPS=10 WARMUP=2 per run (bert-base: STEPS=2 WARMUP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
WL=${1:-bert-small}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-2}
PY=${PY:-/usr/bin/python3}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
NODE="node --import ./scripts/register.mjs"
OUT=$(mktemp)
for rep in $(seq "$REPS"); do
  echo "# rep $rep $(date -u +%T) load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
  $PY bench/torch_prompt_step.py --workload "$WL" --threads 1 --steps "$STEPS" --warmup "$WARMUP" --json >>"$OUT"
  for w in f32 int8; do
    $NODE bench/prompt-step.ts --backend wasm --threads 1 --weights "$w" --workload "$WL" --steps "$STEPS" --warmup "$WARMUP" --json >>"$OUT"
  done
done
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const name = (r) => (r.backend === "torch" ? `torch (${r.blasCore}, ATen ${r.atenCapability})` : `wasm ${r.weights}${r.weightsKernel ? ` [${r.weightsKernel}]` : ""}`);
  const torch = rows.filter((r) => r.backend === "torch");
  for (const n of [...new Set(rows.map(name))]) {
    const rs = rows.filter((r) => name(r) === n);
    const per = rs.map((r, i) => (r.cpuMsPerStep / torch[i].cpuMsPerStep).toFixed(2)).join(" ");
    console.log(`${n.padEnd(34)} wall ${med(rs.map((r) => r.msPerStep)).toFixed(1).padStart(8)} ms  cpu ${med(rs.map((r) => r.cpuMsPerStep)).toFixed(1).padStart(8)} ms  cpu ratio/torch ${(med(rs.map((r) => r.cpuMsPerStep)) / med(torch.map((r) => r.cpuMsPerStep))).toFixed(2)} (per run ${per})  cpu runs ${rs.map((r) => r.cpuMsPerStep.toFixed(0)).join(" ")}`);
  }' "$OUT"
echo "# done $(date -u +%T) load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
