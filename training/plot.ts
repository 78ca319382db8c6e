/**
 * SVG line charts built as strings (no dependencies): axes, "nice" ticks (1/2/5·10ᵏ), grid, legend,
 * title. `trainingCurveSvg` draws train loss (left axis) and a dev metric (right axis) from a metrics
 * log; `lineChartSvg` takes any series, one or two y axes (several methods on one chart).
 * Non-finite points break a line instead of bending it.
 */
import type { MetricRecord } from './log.ts';

export type Point = readonly [x: number, y: number];

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  readonly color?: string;
  readonly axis?: 'left' | 'right';
  readonly dashed?: boolean;
  /** Dots on every point (default: when the series has at most 40 points). */
  readonly markers?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly y2Label?: string;
  readonly width?: number;
  readonly height?: number;
}

/** Tableau-10, readable on white and distinguishable in print. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
] as const;

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const r2 = (v: number) => Math.round(v * 100) / 100;

export interface Ticks {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly values: readonly number[];
}

/** Ticks covering [min, max] at a 1/2/5·10ᵏ step, about `target` of them; the domain snaps outwards. */
export function niceTicks(min: number, max: number, target = 6): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    min = 0;
    max = 1;
  }
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const lo = Math.floor(min / step + 1e-9) * step,
    hi = Math.ceil(max / step - 1e-9) * step;
  const n = Math.round((hi - lo) / step);
  const values = Array.from({ length: n + 1 }, (_, i) => lo + i * step);
  return { lo, hi, step, values };
}

export function formatTick(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-9) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3)
    return v.toExponential(Math.max(0, Math.min(3, Math.floor(Math.log10(abs)) - Math.floor(Math.log10(step)))));
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

function extent(series: readonly Series[], pick: 0 | 1): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const s of series)
    for (const p of s.points) {
      const v = p[pick];
      if (Number.isFinite(p[0]) && Number.isFinite(p[1])) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  return [lo, hi];
}

/** A path of finite points; a non-finite point ends the current segment. */
function pathData(points: readonly Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = '',
    pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${r2(sx(x))},${r2(sy(y))}`;
    pen = true;
  }
  return d;
}

export function lineChartSvg(series: readonly Series[], opts: ChartOptions): string {
  const W = opts.width ?? 760,
    H = opts.height ?? 440;
  const left = series.filter((s) => (s.axis ?? 'left') === 'left'),
    right = series.filter((s) => s.axis === 'right');
  const hasRight = right.length > 0;
  const m = { top: 52, right: hasRight ? 72 : 28, bottom: 58, left: 72 };
  const pw = W - m.left - m.right,
    ph = H - m.top - m.bottom;
  const xt = niceTicks(...extent(series, 0), 8);
  const yt = niceTicks(...extent(left.length > 0 ? left : series, 1), 6);
  const y2t = hasRight ? niceTicks(...extent(right, 1), 6) : yt;
  const sx = (x: number) => m.left + ((x - xt.lo) / (xt.hi - xt.lo)) * pw;
  const syOf = (t: Ticks) => (y: number) => m.top + ph - ((y - t.lo) / (t.hi - t.lo)) * ph;
  const sy = syOf(yt),
    sy2 = syOf(y2t);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(opts.title)}</text>`,
  );
  // Grid and ticks.
  for (const v of yt.values) {
    const y = r2(sy(v));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${m.left - 8}" y="${y + 4}" text-anchor="end">${esc(formatTick(v, yt.step))}</text>`);
  }
  for (const v of xt.values) {
    const x = r2(sx(v));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 19}" text-anchor="middle">${esc(formatTick(v, xt.step))}</text>`);
  }
  if (hasRight) {
    for (const v of y2t.values) {
      const y = r2(sy2(v));
      out.push(`<line x1="${m.left + pw}" y1="${y}" x2="${m.left + pw + 5}" y2="${y}" stroke="#333"/>`);
      out.push(`<text x="${m.left + pw + 8}" y="${y + 4}" text-anchor="start">${esc(formatTick(v, y2t.step))}</text>`);
    }
  }
  // Axes frame and labels.
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (opts.xLabel)
    out.push(
      `<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle" font-size="13">${esc(opts.xLabel)}</text>`,
    );
  if (opts.yLabel)
    out.push(
      `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(opts.yLabel)}</text>`,
    );
  if (hasRight && opts.y2Label)
    out.push(
      `<text transform="translate(${W - 14} ${m.top + ph / 2}) rotate(90)" text-anchor="middle" font-size="13">${esc(opts.y2Label)}</text>`,
    );
  // Series, clipped to the plot area.
  out.push(
    `<defs><clipPath id="plot-area"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
  );
  out.push(
    '<g clip-path="url(#plot-area)" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">',
  );
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const y = s.axis === 'right' ? sy2 : sy;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const d = pathData(s.points, sx, y);
    if (d) out.push(`<path d="${d}" stroke="${color}"${dash}><title>${esc(s.name)}</title></path>`);
    if (s.markers ?? s.points.length <= 40) {
      for (const [px, py] of s.points) {
        if (Number.isFinite(px) && Number.isFinite(py))
          out.push(`<circle cx="${r2(sx(px))}" cy="${r2(y(py))}" r="3" fill="${color}" stroke="none"/>`);
      }
    }
  });
  out.push('</g>');
  // Legend, top right inside the plot.
  const lw = 26 + 7 * Math.max(...series.map((s) => s.name.length + (hasRight ? 4 : 0)), 4),
    lh = 8 + 18 * series.length;
  // The corner whose box covers the fewest data points (top right on ties).
  const corners: [number, number][] = [
    [m.left + pw - lw - 8, m.top + 8],
    [m.left + 8, m.top + 8],
    [m.left + pw - lw - 8, m.top + ph - lh - 8],
    [m.left + 8, m.top + ph - lh - 8],
  ];
  const covered = ([cx, cy]: [number, number]) =>
    series.reduce(
      (n, s) =>
        n +
        s.points.filter(([px, py]) => {
          const X = sx(px),
            Y = (s.axis === 'right' ? sy2 : sy)(py);
          return X >= cx - 4 && X <= cx + lw + 4 && Y >= cy - 4 && Y <= cy + lh + 4;
        }).length,
      0,
    );
  const [lx, ly] = corners.map((c) => [c, covered(c)] as const).reduce((a, b) => (b[1] < a[1] ? b : a))[0];
  out.push(
    `<g class="legend"><rect x="${lx}" y="${ly}" width="${lw}" height="${lh}" fill="#ffffff" fill-opacity="0.85" stroke="#bbb"/>`,
  );
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!,
      yy = ly + 14 + 18 * i;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${lx + 6}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${color}" stroke-width="2"${dash}/>`);
    const label = hasRight ? `${s.name} (${s.axis === 'right' ? 'R' : 'L'})` : s.name;
    out.push(`<text x="${lx + 26}" y="${yy + 4}">${esc(label)}</text>`);
  });
  out.push('</g></svg>');
  return `${out.join('\n')}\n`;
}

export interface TrainingCurveOptions {
  readonly title: string;
  /** Dev metric field to plot on the right axis (e.g. 'acc', 'f1'). */
  readonly metric: string;
  readonly trainSplit?: string;
  readonly devSplit?: string;
  readonly width?: number;
  readonly height?: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Train loss (left axis) and a dev metric (right axis) over steps, from metrics-log records. */
export function trainingCurveSvg(records: readonly MetricRecord[], o: TrainingCurveOptions): string {
  const train = records.filter((r) => r.split === (o.trainSplit ?? 'train'));
  const dev = records.filter((r) => r.split === (o.devSplit ?? 'dev'));
  const series: Series[] = [
    {
      name: 'train loss',
      points: train.map((r) => [r.step, num(r.loss)] as const),
      axis: 'left',
      color: PALETTE[0],
      markers: false,
    },
    {
      name: `dev ${o.metric}`,
      points: dev.map((r) => [r.step, num(r[o.metric])] as const),
      axis: 'right',
      color: PALETTE[1],
    },
  ];
  return lineChartSvg(series, {
    title: o.title,
    xLabel: 'step',
    yLabel: 'train loss',
    y2Label: `dev ${o.metric}`,
    ...(o.width === undefined ? {} : { width: o.width }),
    ...(o.height === undefined ? {} : { height: o.height }),
  });
}

/** Several runs (methods) of one quantity on one axis, e.g. dev accuracy of prompt vs prefix tuning. */
export function multiSeriesSvg(
  runs: readonly { readonly name: string; readonly points: readonly Point[] }[],
  opts: ChartOptions,
): string {
  return lineChartSvg(
    runs.map((r, i) => ({
      name: r.name,
      points: r.points,
      color: PALETTE[i % PALETTE.length]!,
      dashed: i >= PALETTE.length,
    })),
    opts,
  );
}
