import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { openMetricsLog, parseMetricsLog, readMetricsLog } from './log.ts';
import { formatTick, lineChartSvg, multiSeriesSvg, niceTicks, trainingCurveSvg } from './plot.ts';
import { createProgress, formatDuration } from './progress.ts';

test('metrics log: append-only JSONL with a clock, NaN as null, read back', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'pg-log-')), 'run', 'metrics.jsonl');
  let t = 0;
  const log = openMetricsLog(file, { clock: () => (t += 1.5) });
  log.append({ step: 1, split: 'train', loss: 0.69, lr: 0 });
  log.append({ step: 2, split: 'train', loss: NaN, lr: 1e-3 });
  log.append({ step: 2, split: 'dev', acc: 0.75, f1: 0.5, time: 99 });
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.is(lines.length, 3);
  assert.equal(JSON.parse(lines[1]!), { step: 2, split: 'train', loss: null, lr: 1e-3, time: 3 });
  const back = readMetricsLog(file);
  assert.ok(E.isRight(back));
  if (E.isRight(back)) {
    assert.is(back.right.records.length, 3);
    assert.equal(back.right.records[2], { step: 2, split: 'dev', acc: 0.75, f1: 0.5, time: 99 });
    assert.is(back.right.tornTail, false);
  }
  appendFileSync(file, '{"step":3,"spl');
  const torn = readMetricsLog(file);
  assert.ok(E.isRight(torn) && torn.right.tornTail && torn.right.records.length === 3);
});

test('metrics log: a bad line in the middle names the file and line', () => {
  const r = parseMetricsLog(
    '{"step":1,"split":"train","time":0}\n{oops}\n{"step":2,"split":"train","time":1}\n',
    'm.jsonl',
  );
  assert.ok(E.isLeft(r) && /^m\.jsonl: line 2: not JSON/.test(r.left.message));
  const r2 = parseMetricsLog('{"step":"1","split":"train","time":0}\n', 'm.jsonl');
  assert.ok(E.isLeft(r2) && /line 1: .*step/.test(r2.left.message), E.isLeft(r2) ? r2.left.message : '');
  const missing = readMetricsLog('/nonexistent/metrics.jsonl');
  assert.ok(E.isLeft(missing) && missing.left.kind === 'io');
});

test('niceTicks: 1/2/5 steps that cover the data; tick labels', () => {
  assert.equal(niceTicks(0, 1, 5), { lo: 0, hi: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1] });
  const t = niceTicks(3, 297, 8);
  assert.is(t.step, 50);
  assert.is(t.lo, 0);
  assert.is(t.hi, 300);
  const flat = niceTicks(0.5, 0.5);
  assert.ok(flat.lo < 0.5 && flat.hi > 0.5);
  assert.is(formatTick(0.6000000000000001, 0.2), '0.6');
  assert.is(formatTick(1500, 500), '1500');
  assert.is(formatTick(2e-5, 1e-5), '2e-5');
  assert.is(formatTick(2.5e-5, 5e-6), '2.5e-5');
});

/** Tags balance and attributes are quoted: enough to catch broken string building. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    if (m[1]) assert.is(stack.pop(), m[2], `closing </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]!);
  }
  assert.equal(stack, [], 'unclosed tags');
  assert.not.match(svg.replace(/<[^>]*>/g, ''), /[<>]/, 'stray angle bracket in text');
}

test('training curve: two axes, legend, title escaped, NaN breaks the line', () => {
  const recs = [
    ...Array.from({ length: 50 }, (_, i) => ({
      step: i + 1,
      split: 'train',
      time: i,
      loss: i === 20 ? NaN : 1 / (i + 1),
    })),
    ...[10, 20, 30, 40, 50].map((s) => ({ step: s, split: 'dev', time: s, acc: 0.5 + s / 200 })),
  ];
  const svg = trainingCurveSvg(recs, { title: 'RTE <prompt> & co', metric: 'acc' });
  assertWellFormed(svg);
  assert.match(svg, /RTE &lt;prompt&gt; &amp; co/);
  assert.match(svg, />train loss \(L\)</);
  assert.match(svg, />dev acc \(R\)</);
  const trainPath = /<path d="([^"]+)" stroke="#1f77b4"/.exec(svg)?.[1] ?? '';
  assert.is((trainPath.match(/M/g) ?? []).length, 2, 'NaN splits the train curve into two segments');
  assert.is((svg.match(/<circle /g) ?? []).length, 5, 'markers on the 5 dev points only');
  assert.match(svg, /text-anchor="start">0\.75</, 'right-axis tick');
});

test('multi-series chart: one colour per method, one axis', () => {
  const runs = ['prompt', 'prefix', 'p-tuning v2'].map((name, i) => ({
    name,
    points: [
      [0, 0.5],
      [100, 0.6 + i / 20],
      [200, 0.7 + i / 20],
    ] as const,
  }));
  const svg = multiSeriesSvg(runs, { title: 'dev accuracy', xLabel: 'step', yLabel: 'acc' });
  assertWellFormed(svg);
  assert.is((svg.match(/<path /g) ?? []).length, 3);
  for (const r of runs) assert.match(svg, new RegExp(`>${r.name}<`));
  assert.not.match(svg, /\(L\)/);
  assertWellFormed(lineChartSvg([{ name: 'empty', points: [] }], { title: 'no data' }));
});

test('progress, plain mode: a line every N steps with loss, rate and ETA', () => {
  const out: string[] = [];
  let ms = 0;
  const p = createProgress({
    total: 25,
    everyN: 10,
    label: 'boolq',
    stream: { isTTY: false, write: (s) => out.push(s) },
    now: () => ms,
  });
  for (let s = 1; s <= 25; s++) {
    ms += 500;
    p.update(s, { loss: 1 / s });
  }
  p.log('dev acc 0.71');
  p.stop();
  assert.equal(out, [
    'boolq step 10/25 (40%) loss 0.1000 2.00 it/s elapsed 0:05 eta 0:08\n',
    'boolq step 20/25 (80%) loss 0.0500 2.00 it/s elapsed 0:10 eta 0:03\n',
    'boolq step 25/25 (100%) loss 0.0400 2.00 it/s elapsed 0:13 eta 0:00\n',
    'dev acc 0.71\n',
  ]);
  const ex: string[] = [];
  const q = createProgress({
    total: 4,
    everyN: 2,
    unit: 'examples',
    start: 2,
    stream: { isTTY: false, write: (s) => ex.push(s) },
    now: () => ms,
  });
  ms += 1000;
  q.update(4, { examples: 64 });
  assert.match(ex[0]!, /step 4\/4 \(100%\) loss - 64\.0 examples\/s/);
  assert.is(formatDuration(3725), '1:02:05');
});

test('progress, TTY mode: a cli-progress bar with step/total, loss, rate and ETA', () => {
  let text = '';
  let ms = 0;
  const stream = {
    isTTY: true,
    columns: 200,
    write: (s: string) => {
      text += s;
      return true;
    },
  };
  const p = createProgress({ total: 10, label: 'rte', stream, now: () => ms });
  for (let s = 1; s <= 10; s++) {
    ms += 250;
    p.update(s, { loss: 0.5 });
  }
  p.log('checkpoint saved');
  p.stop();
  assert.match(text, /rte \[/);
  assert.match(text, /10\/10 \| loss 0\.5000 \| 4\.00 it\/s \| ETA 0:00/);
  assert.match(text, /checkpoint saved\n/);
});

test('progress, TTY mode: a line logged after stop() leaves no redraw timer behind (the process can exit)', () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  let text = '';
  const stream = { isTTY: true, columns: 120, write: (s: string) => ((text += s), true) };
  const p = createProgress({ total: 2, label: 'rte', stream });
  p.update(1, { loss: 0.5 });
  p.update(2, { loss: 0.4 });
  p.stop();
  p.log('test accuracy 0.5');
  assert.is(timers(), before, 'no timer left armed');
  assert.ok(text.endsWith('test accuracy 0.5\n'));
});

test.run();
