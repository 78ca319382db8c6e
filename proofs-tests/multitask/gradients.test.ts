/**
 * The multitask loss Σ_t (n_t/N)·loss_t over a batch mixing two tasks' examples (bert-tiny, RTE + CB,
 * f64 CPU reference): for every sharing mode, a task's own parameters get gradient only through its own
 * examples — exactly zero when the batch has none of them, and equal to (n_t/N)·∇loss_t computed through
 * that task's single-task model alone, whatever the other task's examples are — and the shared part gets
 * the weighted sum of the tasks' gradients. For the soft-prompt modes the whole multitask gradient is also
 * checked against central finite differences (checkVjp); dynamic modes run in training mode with a fixed
 * key (their hard choices have no finite-difference gradient), the same key for every computation.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { add, mul, prngKey, scope, treeLeaves, valueAndGrad, type ParamTree, type Tensor } from '../../core/index.ts';
import { buildMultitaskModel, type TaskBatch } from '../../training/multitask/model.ts';
import type { MultitaskParams } from '../../training/multitask/sharing.ts';
import { mergeConfig, type RunConfig } from '../../training/run-config.ts';
import { setupMultitaskRun } from '../../training/multitask/setup.ts';
import type { StepContext } from '../../training/task-model.ts';
import { checkVjp } from '../support/gradcheck.ts';

const MODEL = new URL('../../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../../datasets/fewglue', import.meta.url).pathname;

const MODES: readonly Partial<RunConfig>[] = [
  { share: 'none', method: 'soft' },
  { share: 'prompt', method: 'soft' },
  { share: 'prompt', method: 'dynamic', dynamicPosition: 'task', dynamicLength: 'task' },
  { share: 'pool', method: 'dynamic', dynamicPosition: 'instance', poolSize: 2 },
];

const leaves = (t: unknown) => treeLeaves(t).map((l) => ({ path: l.path, data: l.leaf.dataSync() }));

function expectTreeClose(got: unknown, want: unknown, what: string, tol = 1e-12): void {
  const a = leaves(got),
    b = leaves(want);
  assert.equal(
    a.map((x) => x.path),
    b.map((x) => x.path),
    `${what}: same leaves`,
  );
  a.forEach((x, i) => {
    const y = b[i]!.data;
    for (let k = 0; k < x.data.length; k++) {
      const d = Math.abs(x.data[k]! - y[k]!);
      if (d > tol * (1 + Math.abs(y[k]!))) assert.unreachable(`${what} ${x.path}[${k}]: ${x.data[k]} vs ${y[k]}`);
    }
  });
}

for (const mode of MODES) {
  const label = `${mode.method}/share ${mode.share}${mode.dynamicPosition ? ` (position ${mode.dynamicPosition})` : ''}`;
  test(`${label}: a task's parameters get gradient only through its own examples`, async () => {
    const c = mergeConfig([
      {
        model: MODEL,
        data: DATA,
        task: 'RTE,CB',
        dtype: 'f64',
        maxLength: 24,
        promptLength: 3,
        dropout: false,
        ...mode,
      },
    ]);
    if (E.isLeft(c)) throw new Error(c.left.message);
    const { mt: built } = await setupMultitaskRun(c.right);
    const mt = buildMultitaskModel(
      built.model,
      built.tokenizer,
      built.tasks.map((t) => t.data),
      c.right,
    );
    const bk = mt.model.bk;
    const p = mt.init(prngKey(5));
    const train: StepContext | undefined = mode.method === 'dynamic' ? { key: prngKey(11), step: 0 } : undefined;
    const countArb = fc.integer({ min: 0, max: 3 });
    fc.assert(
      fc.property(countArb, countArb, fc.nat(28), fc.nat(28), fc.nat(28), (nA, nB, offA, offB, offB2) => {
        fc.pre(nA + nB > 0);
        scope(bk, () => {
          const batchOf = (t: number, off: number, n: number) =>
            mt.tasks[t]!.tm.batch(mt.tasks[t]!.data.train.slice(off, off + n));
          const groupsWith = (offOther: number): TaskBatch[] => [
            ...(nA > 0 ? [{ task: 0, batch: batchOf(0, offA, nA) }] : []),
            ...(nB > 0 ? [{ task: 1, batch: batchOf(1, offOther, nB) }] : []),
          ];
          const groups = groupsWith(offB);
          const [, g] = valueAndGrad((q: MultitaskParams) => mt.loss(q, groups, train))(p);
          const N = nA + nB;
          let sharedSum: Tensor[] | undefined;
          for (const [t, n] of [
            [0, nA],
            [1, nB],
          ] as const) {
            const name = mt.tasks[t]!.name;
            const own = g.tasks[name]!;
            if (n === 0) {
              for (const l of leaves(own))
                assert.ok(
                  l.data.every((x) => x === 0),
                  `${name} has no examples: ${l.path} gradient must be exactly 0`,
                );
              continue;
            }
            const batch = groups.find((x) => x.task === t)!.batch;
            const group = mt.groupOf(p, t);
            const [, alone] = valueAndGrad((q: typeof group) => mul(mt.groupLoss(q, t, batch, train)[0], n / N))(group);
            expectTreeClose(own, alone.own, `${name}'s own gradient vs its loss alone`);
            if (alone['shared'] !== undefined) {
              const ls = treeLeaves(alone['shared']).map((l) => l.leaf);
              sharedSum = sharedSum ? sharedSum.map((s, i) => add(s, ls[i]!)) : ls;
            }
          }
          if (g['shared'] !== undefined) {
            const got = treeLeaves(g['shared']).map((l) => l.leaf.dataSync());
            got.forEach((x, i) => {
              const y = sharedSum![i]!.dataSync();
              x.forEach((v, k) =>
                assert.ok(Math.abs(v - y[k]!) <= 1e-12 * (1 + Math.abs(y[k]!)), `shared leaf ${i}[${k}]`),
              );
            });
          }
          // Another set of the other task's examples leaves the first task's gradient unchanged.
          if (nA > 0 && nB > 0) {
            const other = groupsWith(offB2);
            const [, g2] = valueAndGrad((q: MultitaskParams) => mt.loss(q, other, train))(p);
            const rte = mt.tasks[0]!.name;
            const scaleA = nA / N;
            // the weights n_t/N are the same, so the RTE part must be identical
            expectTreeClose(g2.tasks[rte], g.tasks[rte], `RTE gradient with other CB examples (w ${scaleA})`);
          }
        });
      }),
      { numRuns: 6, seed: 20 },
    );
    if (mode.method === 'soft')
      scope(bk, () => {
        const groups: TaskBatch[] = [
          { task: 0, batch: mt.tasks[0]!.tm.batch(mt.tasks[0]!.data.train.slice(0, 2)) },
          { task: 1, batch: mt.tasks[1]!.tm.batch(mt.tasks[1]!.data.train.slice(0, 3)) },
        ];
        checkVjp((q: ParamTree) => mt.loss(q as MultitaskParams, groups), p as ParamTree, { label: label });
      });
  });
}

test.run();
