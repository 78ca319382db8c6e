/**
 * Every primitive's VJP rule (core/tensor/ops/vjp-rules.ts) against its proof case (vjp-cases.ts): central finite differences and the
 * adjoint identity in f64 for each differentiable primitive, and no thunk from the rules of the rest.
 * Both tables are keyed by OpName, so a primitive missing from either does not compile (shown below).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import type { OpName, VjpRules } from '../../core/autograd/primitives.ts';
import { cpuBackend, tensor } from '../../core/index.ts';
import { vjpRules } from '../../core/tensor/ops/vjp-rules.ts';
import { forAll, seedArb } from '../support/arbitraries.ts';
import { checkVjp } from '../support/gradcheck.ts';
import { VJP_CASES, type VjpCases } from './vjp-cases.ts';

const bk = cpuBackend();
/** Fewer runs than the family tests: these are the table's proofs, the family tests go deeper. */
const TABLE_RUNS = { numRuns: 8 };

for (const op of Object.keys(VJP_CASES) as OpName[]) {
  const c = VJP_CASES[op];
  if ('noGrad' in c) {
    test(`vjp table: ${op} gives no gradient (${c.noGrad})`, () => {
      const dy = tensor(bk, [1], { dtype: 'f64' });
      const thunks = vjpRules[op](
        dy,
        [dy, dy, dy, dy, dy],
        dy,
        null as never,
        [dy, dy],
        [true, true, true, true, true],
      );
      assert.ok(
        thunks.every((t) => t === undefined),
        `${op}: its rule returns a gradient thunk`,
      );
    });
    continue;
  }
  test(`vjp table: ${op} matches finite differences (in depth: ${c.deeper})`, () => {
    forAll(
      bk,
      fc.tuple(c.arb, seedArb),
      ([specs, seed]) => {
        const { inputs, f } = c.build(bk, specs);
        checkVjp((xs) => f(xs), inputs, { seed, label: op });
      },
      TABLE_RUNS,
    );
  });
}

test('every proof case names a family test that exists', () => {
  const root = new URL('../../', import.meta.url);
  for (const [op, c] of Object.entries(VJP_CASES))
    if ('deeper' in c) assert.ok(existsSync(new URL(c.deeper, root)), `${op}: ${c.deeper} does not exist`);
});

test('an incomplete rule table or proof table does not compile', () => {
  const { matmul: _rule, ...rulesWithoutMatmul } = vjpRules;
  // @ts-expect-error -- Property 'matmul' is missing: a primitive without a VJP rule
  const rules: VjpRules = rulesWithoutMatmul;
  const { softmax: _proof, ...casesWithoutSoftmax } = VJP_CASES;
  // @ts-expect-error -- Property 'softmax' is missing: a primitive without a proof case
  const cases: VjpCases = casesWithoutSoftmax;
  // the tables hold one entry per primitive, and the same primitives
  assert.equal(Object.keys(rules).length, Object.keys(vjpRules).length - 1);
  assert.equal(
    Object.keys(cases).sort(),
    Object.keys(vjpRules)
      .filter((o) => o !== 'softmax')
      .sort(),
  );
});

test.run();
