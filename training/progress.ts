/**
 * Progress reporting for training and evaluation loops. On a TTY: a cli-progress bar with
 * step/total, loss, throughput (it/s or examples/s) and ETA. Otherwise (CI logs, files): one plain
 * line every `everyN` steps and at the last step. The output stream and the clock are injectable.
 */
import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { formatDuration, Meter } from './meter.ts';

export { formatDuration };

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  readonly total: number;
  readonly label?: string;
  /** Throughput unit: steps ('it') or examples (needs `examples` in updates). */
  readonly unit?: 'it' | 'examples';
  /** Plain mode: print every N steps (default 10). */
  readonly everyN?: number;
  /** First step (when resuming); rates and ETA count from here. */
  readonly start?: number;
  /** Default process.stdout. */
  readonly stream?: ProgressStream;
  /** Milliseconds; default performance.now. */
  readonly now?: () => number;
}

export interface ProgressInfo {
  readonly loss?: number;
  /** Examples processed in this update (for examples/s). */
  readonly examples?: number;
}

export interface Progress {
  /** Reports that `step` steps are done. */
  update(step: number, info?: ProgressInfo): void;
  /** A message line (eval results, checkpoints) that does not disturb the bar. */
  log(line: string): void;
  stop(): void;
}

/**
 * cli-progress types its stream as a Node WritableStream but only writes to it and reads isTTY and columns
 * (readline's cursor moves are writes too): a Writable that forwards each chunk to a plain ProgressStream.
 */
function forwardingWritable(stream: ProgressStream): Writable {
  const out = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      stream.write(String(chunk));
      done();
    },
  });
  return Object.defineProperties(out, {
    isTTY: { get: () => stream.isTTY },
    columns: { get: () => stream.columns },
  });
}

const fmtLoss = (l: number | undefined) => (l === undefined ? '-' : Number.isFinite(l) ? l.toFixed(4) : String(l));

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stdout;
  const now = opts.now ?? (() => performance.now());
  const unit = opts.unit ?? 'it',
    label = opts.label ?? 'train',
    every = Math.max(1, opts.everyN ?? 10);
  const start = opts.start ?? 0,
    total = opts.total;
  const meter = new Meter(start, total, now);
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | loss {loss} | {rate} | ETA {etaText}`,
        stream: stream instanceof Writable ? stream : forwardingWritable(stream),
        hideCursor: true,
        barsize: 30,
        fps: 10,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { loss: '-', rate: '-', etaText: '?' });
    // cli-progress's render() re-arms its redraw timer: after stop() a render would keep the process
    // alive forever (a finished `train` hung in a terminal). Lines logged after stop are plain lines.
    let stopped = false;
    return {
      update(step, info) {
        meter.add(info);
        const s = meter.stats(step, unit);
        bar.update(step, { loss: fmtLoss(info?.loss), rate: s.rate, etaText: s.eta });
      },
      log(line) {
        if (stopped) {
          stream.write(`${line}\n`);
          return;
        }
        stream.write(`\r\x1b[2K${line}\n`);
        bar.render();
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }
  let lastPrinted = -1;
  return {
    update(step, info) {
      meter.add(info);
      if (step % every !== 0 && step !== total) return;
      if (step === lastPrinted) return;
      lastPrinted = step;
      const s = meter.stats(step, unit);
      const pct = total > 0 ? ` (${Math.floor((100 * step) / total)}%)` : '';
      stream.write(
        `${label} step ${step}/${total}${pct} loss ${fmtLoss(info?.loss)} ${s.rate} elapsed ${s.elapsed} eta ${s.eta}\n`,
      );
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    stop() {
      /* nothing buffered */
    },
  };
}
