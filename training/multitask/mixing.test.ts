/**
 * The mixing sampler: each rule's probabilities follow its definition, the draws of a fixed seed hit
 * them within 4 standard errors (binomial, per task; 40 000 steps), a task's batches are exactly the
 * single-task epoch order, and the config accepts `tasks` lists and refuses bad `mix` / `share`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { epochBatches } from '../../data/index.ts';
import { decodePartial, mergeConfig, parseMix, type MixRule } from '../run-config.ts';
import { drawTask, freshSampler, mixWeights, takeBatch } from './mixing.ts';

const SIZES = [32, 250, 1000, 100] as const;
const STEPS = 40_000;

const rules: readonly [string, readonly number[]][] = [
  ['proportional', SIZES.map((n) => n / 1382)],
  ['uniform', SIZES.map(() => 0.25)],
  // p ∝ n^(1/2): √32, √250, √1000, √100
  ['temperature:2', ((w) => w.map((x) => x / w.reduce((a, b) => a + b, 0)))(SIZES.map((n) => Math.sqrt(n)))],
  ['temperature:1', SIZES.map((n) => n / 1382)],
];

for (const [name, expected] of rules) {
  test(`--mix ${name}: probabilities as defined; ${STEPS} seeded draws within 4 standard errors of them`, () => {
    const rule = parseMix(name);
    if (E.isLeft(rule)) throw new Error(rule.left);
    const p = mixWeights(rule.right, SIZES);
    p.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-12, `p[${i}] = ${x}, expected ${expected[i]}`));
    const counts = new Array<number>(SIZES.length).fill(0);
    for (let s = 0; s < STEPS; s++) counts[drawTask(7, s, p)]! += 1;
    counts.forEach((c, i) => {
      const se = Math.sqrt((p[i]! * (1 - p[i]!)) / STEPS);
      assert.ok(
        Math.abs(c / STEPS - p[i]!) <= 4 * se,
        `task ${i}: frequency ${c / STEPS} vs p ${p[i]} (4 se = ${4 * se})`,
      );
    });
  });
}

test('temperature → large T approaches uniform; the draw of a step depends only on (seed, step)', () => {
  const p = mixWeights({ kind: 'temperature', temperature: 1e6 } satisfies MixRule, SIZES);
  p.forEach((x) => assert.ok(Math.abs(x - 0.25) < 1e-4));
  const q = mixWeights({ kind: 'proportional' }, SIZES);
  assert.equal(
    Array.from({ length: 50 }, (_, s) => drawTask(3, s, q)),
    Array.from({ length: 50 }, (_, s) => drawTask(3, s, q)),
  );
  assert.not.equal(
    Array.from({ length: 50 }, (_, s) => drawTask(3, s, q)),
    Array.from({ length: 50 }, (_, s) => drawTask(4, s, q)),
  );
});

test("a task's batches are its single-task epoch order, across epochs", () => {
  const xs = Array.from({ length: 10 }, (_, i) => i);
  let st = freshSampler(2);
  const got: (readonly number[])[] = [];
  for (let i = 0; i < 9; i++) {
    const r = takeBatch(st, 1, xs, 4, 5);
    got.push(r.examples);
    st = r.state;
  }
  const want = [0, 1, 2].flatMap((e) => epochBatches(xs, 4, 5, e));
  assert.equal(got, want);
  assert.equal(st.tasks[1], { draws: 9, epoch: 3, cursor: 0 });
  assert.equal(st.tasks[0], { draws: 0, epoch: 0, cursor: 0 });
});

const base = { model: 'm', data: 'd' } as const;
test('config: a "tasks" list, and the checks on task lists, --mix and --share', () => {
  const fromFile = decodePartial({ tasks: ['RTE', 'CB'], share: 'prompt' }, 'f.json');
  assert.ok(E.isRight(fromFile) && fromFile.right.task === 'RTE,CB');
  const both = decodePartial({ tasks: ['RTE'], task: 'CB' }, 'f.json');
  assert.ok(E.isLeft(both) && /either "task" or "tasks"/.test(both.left.message));
  const err = (over: object) => {
    const c = mergeConfig([{ ...base, ...over }]);
    return E.isLeft(c) ? c.left.message : 'accepted';
  };
  assert.match(err({ task: 'RTE, CB', mix: 'temperature:0' }), /field "mix"/);
  assert.match(err({ task: 'RTE,CB', mix: 'sometimes' }), /proportional, uniform or temperature:T/);
  assert.match(err({ task: 'RTE,RTE' }), /lists "RTE" twice/);
  assert.match(err({ task: 'RTE,custom' }), /no "custom"/);
  assert.match(err({ task: 'RTE', share: 'prompt' }), /only to a multitask run/);
  assert.match(err({ task: 'RTE,CB', share: 'pool', method: 'soft' }), /--method dynamic and --pool-size/);
  assert.is(err({ task: 'RTE,CB', share: 'pool', method: 'dynamic', poolSize: 2, mix: 'temperature:2.5' }), 'accepted');
  const ok = mergeConfig([{ ...base, task: ' RTE , CB ' }]);
  assert.ok(E.isRight(ok) && ok.right.task === 'RTE,CB');
});

test.run();
