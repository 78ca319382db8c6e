/**
 * Throughput and ETA for a loop's progress, with no output of its own: the terminal progress bar
 * (progress.ts) and the browser page both print what it measures.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds),
    h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

const fmtRate = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));

/** Throughput and ETA bookkeeping: shared by the progress bar (both modes) and the browser page. */
export class Meter {
  private readonly t0: number;
  private examples = 0;
  constructor(
    private readonly start: number,
    private readonly total: number,
    private readonly now: () => number,
  ) {
    this.t0 = now();
  }
  add(info: { readonly examples?: number } | undefined): void {
    this.examples += info?.examples ?? 0;
  }
  stats(step: number, unit: 'it' | 'examples') {
    const secs = Math.max(1e-9, (this.now() - this.t0) / 1000);
    const done = step - this.start;
    const stepsPerSec = done / secs;
    const rate = unit === 'examples' ? this.examples / secs : stepsPerSec;
    const eta = done > 0 ? (this.total - step) / stepsPerSec : NaN;
    return { rate: `${fmtRate(rate)} ${unit}/s`, eta: formatDuration(eta), elapsed: formatDuration(secs) };
  }
}
