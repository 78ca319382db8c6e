/** Grid files: decoding, errors that name the field, expansion and stable run ids. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VARIANTS } from '../experiments/variants.ts';
import { DEFAULTS } from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';
import { decodeGrid, expandGrid } from './grid.ts';

const BASE = { model: 'm', data: 'd', tasks: ['RTE', 'CB'], methods: ['soft', 'dp-full'], seeds: [1, 2, 3] };
const ids = (raw: unknown) => expandGrid(decodeGrid(raw, 'g.json', '/base')).map((r) => r.id);

test('expansion: seeds outermost, tasks × methods, variants and train options applied, paths resolved', () => {
  const runs = expandGrid(decodeGrid({ ...BASE, steps: 40, lr: 0.5, valLimit: 100 }, 'g.json', '/base'));
  assert.is(runs.length, 12);
  assert.equal(
    runs.slice(0, 4).map((r) => [r.config.seed, r.config.task, r.extra.variant]),
    [
      [1, 'RTE', 'soft'],
      [1, 'RTE', 'dp-full'],
      [1, 'CB', 'soft'],
      [1, 'CB', 'dp-full'],
    ],
  );
  const dp = runs[1]!.config;
  assert.is(dp.method, 'dynamic');
  assert.is(dp.poolSize, VARIANTS['dp-full'].config.poolSize);
  assert.is(dp.steps, 40);
  assert.is(dp.lr, 0.5); // the grid's lr wins over the variant's default
  assert.is(dp.model, '/base/m');
  assert.is(dp.evalEvery, DEFAULTS.evalEvery);
  assert.is(runs[0]!.extra.valLimit, 100);
  // without a grid lr each variant keeps its own
  assert.is(expandGrid(decodeGrid(BASE, 'g.json', '/base'))[0]!.config.lr, VARIANTS.soft.lr);
});

test('run ids: readable, stable, independent of key order and of backend/threads, distinct per setting', () => {
  const a = ids(BASE);
  assert.is(new Set(a).size, a.length);
  assert.match(a[0]!, /^RTE-soft-s1-[0-9a-f]{10}$/);
  const reordered = Object.fromEntries(Object.entries({ ...BASE, steps: 100 }).reverse());
  assert.equal(ids(reordered), ids({ ...BASE, steps: 100 }));
  assert.equal(ids({ ...BASE, backend: 'wasm', threads: 2 }), a);
  assert.not.equal(ids({ ...BASE, steps: 41 })[0], a[0]);
  assert.not.equal(ids({ ...BASE, valLimit: 10 })[0], a[0]);
  assert.not.equal(ids({ ...BASE, methods: [{ name: 'soft', lr: 0.1 }, 'dp-full'] })[0], a[0]);
});

test('method entries: plain method names and {name, overrides}', () => {
  const runs = expandGrid(
    decodeGrid(
      { ...BASE, tasks: ['RTE'], seeds: [1], methods: ['prefix', { name: 'infoprompt', gamma: 0.3 }] },
      'g.json',
      '/',
    ),
  );
  assert.is(runs[0]!.config.method, 'prefix');
  assert.is(runs[1]!.config.method, 'infoprompt');
  assert.is(runs[1]!.config.gamma, 0.3);
  assert.is(runs[1]!.config.generatorHidden, VARIANTS.infoprompt.config.generatorHidden);
});

test('errors name the file and the field', () => {
  const bad = (raw: unknown, re: RegExp) =>
    assert.throws(
      () => expandGrid(decodeGrid(raw, 'g.json', '/')),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  bad({ ...BASE, methods: ['sofft'] }, /g\.json: field "methods"\[0\]: unknown method "sofft" \(variants soft, /);
  bad({ ...BASE, methods: ['soft', 'soft'] }, /"soft" is listed twice/);
  bad({ ...BASE, task: 'RTE' }, /field "task": a grid lists tasks under "tasks"/);
  bad(
    { ...BASE, tasks: ['RTE', 'RTE,CB'] },
    /g\.json: field "tasks": "RTE,CB" is a multitask run, which sweeps do not/,
  );
  bad({ ...BASE, stepz: 3 }, /g\.json: field "stepz": unknown option/);
  bad({ ...BASE, steps: -1 }, /field "steps": must be an integer ≥ 1/);
  bad({ ...BASE, seeds: [] }, /field "seeds": expected a non-empty list/);
  bad({ ...BASE, seeds: [1.5] }, /field "seeds"\[0\]: expected an integer/);
  bad({ ...BASE, model: 3 }, /field "model": expected a non-empty string/);
  bad({ ...BASE, methods: [{ name: 'soft', seed: 3 }] }, /"seed" is set by the grid/);
  bad({ ...BASE, lr: 0 }, /field "lr": must be > 0/);
});

test.run();
