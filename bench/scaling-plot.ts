/**
 * Draws bench/scaling.sh's JSON lines as one SVG (BENCHMARKS.md "Scaling"): CPU time per step (top row) and
 * peak RSS (bottom row) against sequence length, batch, prompt length and model size, one line per
 * backend (torch, PromptGrad wasm f32, PromptGrad wasm int8; per Node major version when scaling.sh ran
 * several, PG_NODES).
 *   node --import ./scripts/register.mjs bench/scaling-plot.ts [bench/scaling.jsonl] [bench/scaling.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Row {
  readonly sweep: string;
  readonly value: number | string;
  readonly backend: string;
  readonly weights?: string;
  readonly msPerStep: number;
  readonly cpuMsPerStep: number;
  readonly peakRssMiB: number;
  readonly node?: string;
}

const [inFile = 'bench/scaling.jsonl', outFile = 'bench/scaling.svg'] = process.argv.slice(2);
const rows = readFileSync(inFile, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Row);
const nodes = new Set(rows.flatMap((r) => (r.node ? [r.node] : [])));
const series = (r: Row): string =>
  r.backend === 'torch'
    ? 'torch fp32'
    : `PromptGrad wasm ${r.weights ?? 'f32'}${nodes.size > 1 && r.node ? ` (Node ${r.node.slice(1).split('.')[0]})` : ''}`;
const SERIES = [...new Set(rows.map(series))];
const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const COLOR: Record<string, string> = Object.fromEntries(SERIES.map((s, i) => [s, PALETTE[i % PALETTE.length]!]));
const SWEEPS: [string, string][] = [
  ['seq', 'sequence length (batch 8, 20 prompt tokens)'],
  ['batch', 'batch (seq 64, 20 prompt tokens)'],
  ['prompt', 'prompt tokens (batch 8, seq 64)'],
  ['model', 'model (batch 8, seq 64, 20 prompt tokens)'],
];
const METRICS: [keyof Row, string][] = [
  ['cpuMsPerStep', 'CPU ms / step'],
  ['peakRssMiB', 'peak RSS (MiB)'],
];
const W = 300,
  H = 210,
  L = 58,
  T = 34,
  pw = W - L - 14,
  ph = H - T - 40;
const out: string[] = [];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x: number, y: number, s: string, extra = ''): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`;
METRICS.forEach(([metric, label], mi) =>
  SWEEPS.forEach(([sweep, title], si) => {
    const ox = si * W,
      oy = mi * H + 24;
    const pts = rows.filter((r) => r.sweep === sweep);
    const xs = [...new Set(pts.map((r) => String(r.value)))];
    const ymax = Math.max(1, ...pts.map((r) => r[metric] as number)) * 1.08;
    const X = (v: string): number => ox + L + (xs.length === 1 ? pw / 2 : (xs.indexOf(v) / (xs.length - 1)) * pw);
    const Y = (v: number): number => oy + T + ph - (v / ymax) * ph;
    out.push(`<rect x="${ox + L}" y="${oy + T}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    out.push(text(ox + L, oy + T - 8, mi === 0 ? title : '', 'font-size="11"'));
    out.push(
      text(ox + 4, oy + T + ph / 2, label, `font-size="10" transform="rotate(-90 ${ox + 12} ${oy + T + ph / 2})"`),
    );
    for (let g = 0; g <= 4; g++) {
      const v = (ymax / 4) * g;
      out.push(
        text(
          ox + L - 4,
          Y(v) + 3,
          v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0),
          'font-size="9" text-anchor="end"',
        ),
      );
    }
    for (const x of xs) out.push(text(X(x), oy + T + ph + 13, x, 'font-size="9" text-anchor="middle"'));
    for (const s of SERIES) {
      const line = xs
        .map((x) => pts.find((r) => series(r) === s && String(r.value) === x))
        .filter((r): r is Row => r !== undefined);
      if (line.length === 0) continue;
      const d = line.map(
        (r, i) => `${i ? 'L' : 'M'}${X(String(r.value)).toFixed(1)},${Y(r[metric] as number).toFixed(1)}`,
      );
      out.push(`<path d="${d.join(' ')}" fill="none" stroke="${COLOR[s]}" stroke-width="1.6"/>`);
      for (const r of line)
        out.push(
          `<circle cx="${X(String(r.value)).toFixed(1)}" cy="${Y(r[metric] as number).toFixed(1)}" r="2.4" fill="${COLOR[s]}"/>`,
        );
    }
  }),
);
SERIES.forEach((s, i) => {
  out.push(`<rect x="${10 + i * 240}" y="6" width="12" height="4" fill="${COLOR[s]}"/>`);
  out.push(text(26 + i * 240, 12, s, 'font-size="11"'));
});
writeFileSync(
  outFile,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${4 * W}" height="${2 * H + 30}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`,
);
console.log(`${outFile}: ${rows.length} points`);
