/**
 * Append-only JSONL metrics log, one object per line: `{"step":10,"split":"train","loss":0.69,"lr":3e-4,"time":12.5}`.
 * Lines are appended with O_APPEND (`appendFileSync`), so a crash loses at most the line being
 * written; the reader reports a torn last line instead of failing the whole file. Non-finite numbers
 * are written as null (JSON has no NaN).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { ensureDir } from './atomic-file.ts';
import { fsError } from './fs-error.ts';
import { fromThrown, loadError, type LoadError } from '../models/bert/load-error.ts';

export interface MetricRecord {
  readonly step: number;
  /** 'train' | 'dev' | 'test' or any other label. */
  readonly split: string;
  /** Seconds since the run started. */
  readonly time: number;
  readonly loss?: number | null;
  readonly lr?: number | null;
  /** Metric values by name (acc, f1, em, …). */
  readonly [metric: string]: number | string | null | undefined;
}

/** A record before the log stamps its time. */
export interface MetricInput {
  readonly step: number;
  readonly split: string;
  readonly time?: number;
  readonly loss?: number | null;
  readonly lr?: number | null;
  readonly [metric: string]: number | string | null | undefined;
}

export const MetricRecordCodec = t.intersection([
  t.type({ step: t.number, split: t.string, time: t.number }),
  t.record(t.string, t.union([t.number, t.string, t.null])),
]);

export interface MetricsLog {
  readonly path: string;
  /** Appends one record (time filled from the clock when absent). */
  append(rec: MetricInput): MetricRecord;
}

export interface MetricsLogOptions {
  /** Seconds since start; default wall clock from when the log was opened. */
  readonly clock?: () => number;
  /** Injectable line writer (tests); default appends to `path`. */
  readonly write?: (path: string, line: string) => void;
}

const finiteOrNull = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** The default line writer: appends to the file. */
function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, line, { flag: 'a' });
  } catch (e) {
    throw fsError(e, path, 'append to');
  }
}

/** Appends after `fence()` returns (it throws to refuse: see TrainOptions.fence). */
export const fencedAppend =
  (fence: () => void) =>
  (path: string, line: string): void => {
    fence();
    appendLine(path, line);
  };

export function openMetricsLog(path: string, opts: MetricsLogOptions = {}): MetricsLog {
  const t0 = performance.now();
  const clock = opts.clock ?? (() => (performance.now() - t0) / 1000);
  const write = opts.write ?? appendLine;
  if (!opts.write) ensureDir(dirname(path));
  return {
    path,
    append(rec) {
      const full = { ...rec, time: rec.time ?? clock() } as MetricRecord;
      write(path, `${JSON.stringify(full, finiteOrNull)}\n`);
      return full;
    },
  };
}

export interface ParsedLog {
  readonly records: readonly MetricRecord[];
  /** A last line without its newline that does not parse (a crash mid-append); it is skipped. */
  readonly tornTail: boolean;
}

/** Parses JSONL text; errors name the file and the 1-based line. */
export function parseMetricsLog(text: string, file: string): E.Either<LoadError, ParsedLog> {
  const lines = text.split('\n');
  const records: MetricRecord[] = [];
  let tornTail = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const last = i === lines.length - 1;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      if (last) {
        tornTail = true;
        continue;
      }
      return E.left(
        loadError('format', file, `line ${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`),
      );
    }
    const r = MetricRecordCodec.decode(json);
    if (E.isLeft(r)) return E.left(loadError('format', file, `line ${i + 1}: ${PathReporter.report(r).join('; ')}`));
    records.push(r.right);
  }
  return E.right({ records, tornTail });
}

export function readMetricsLog(file: string): E.Either<LoadError, ParsedLog> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return E.left(fromThrown('io', file, 'cannot read the metrics log', e));
  }
  return parseMetricsLog(text, file);
}
