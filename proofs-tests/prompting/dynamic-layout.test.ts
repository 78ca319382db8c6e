/**
 * Dynamic prompting's layout `[CLS] P[:j] x P[j:] [SEP] pad…`: j prompt tokens before the text, m − j
 * after. Without a learned position j = m, the usual prefix soft prompt, for plain, length-only and
 * pool-only configs; with a position choice at j the split is where the logits say. Checked against an
 * index map written out here, row by row (prompt rows are given recognisable values).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, keep, prngKey, scope, tensor, type Tensor } from '../../core/index.ts';
import {
  applyDynamicPrompt,
  initDynamicPrompt,
  type DynamicPromptConfig,
  type DynamicPromptParams,
} from '../../prompting/dynamic.ts';
import { randomTinyModel, syntheticBatch } from './support.ts';

const bk = cpuBackend();
const model = randomTinyModel(bk, 11);
const d = model.cfg.hiddenSize,
  m = 3,
  T = 7;
const ROWS = [[5, 6, 7], [8]] as const; // real lengths n = 5 and 3 (with [CLS] and [SEP])

/** Prompt row i's value: every element 100 + i (far from any embedding value). */
const promptRows = (k?: number): Tensor => {
  const one = Array.from({ length: m * d }, (_, q) => 100 + Math.floor(q / d));
  return keep(
    tensor(bk, Float64Array.from(k ? Array.from({ length: k }, () => one).flat() : one), {
      shape: k ? [k, m, d] : [m, d],
      dtype: 'f64',
    }),
  );
};

/** What each output position should hold: 'p<i>' for prompt row i, 't<t>' for text position t. */
function expectedLayout(n: number, j: number): string[] {
  const text = Array.from({ length: T }, (_, t) => `t${t}`);
  const prompt = Array.from({ length: m }, (_, i) => `p${i}`);
  return [text[0]!, ...prompt.slice(0, j), ...text.slice(1, n - 1), ...prompt.slice(j), ...text.slice(n - 1)];
}

function checkLayout(cfg: DynamicPromptConfig, params: DynamicPromptParams, js: readonly number[], what: string) {
  scope(bk, () => {
    const batch = syntheticBatch(bk, ROWS, T);
    const out = applyDynamicPrompt(model, params, batch, cfg).inputs;
    const got = out.inputsEmbeds!.dataSync(),
      emb = model.embed(batch.inputIds).dataSync();
    ROWS.forEach((r, b) => {
      const want = expectedLayout(r.length + 2, js[b]!);
      want.forEach((src, s) => {
        const at = (b * (T + m) + s) * d;
        const ref =
          src[0] === 'p'
            ? Array.from({ length: d }, () => 100 + Number(src.slice(1)))
            : Array.from(emb.subarray((b * T + Number(src.slice(1))) * d, (b * T + Number(src.slice(1)) + 1) * d));
        for (let e = 0; e < d; e++)
          assert.ok(Math.abs(got[at + e]! - ref[e]!) < 1e-9, `${what}: row ${b} position ${s} should be ${src}`);
      });
      const mask = Array.from(out.hostAttentionMask!).slice(b * (T + m), (b + 1) * (T + m));
      assert.equal(mask, [...Array<number>(r.length + 2 + m).fill(1), ...Array<number>(T - r.length - 2).fill(0)]);
    });
  });
}

test('without a learned position the whole prompt precedes the text (j = m): plain, length-only, pool-only', () => {
  const configs: [string, DynamicPromptConfig][] = [
    ['plain', { numVirtualTokens: m }],
    ['length only', { numVirtualTokens: m, length: 'task' }],
    ['pool only', { numVirtualTokens: m, pool: { k: 2 } }],
  ];
  for (const [what, cfg] of configs) {
    const init = initDynamicPrompt(model, cfg, prngKey(1));
    checkLayout(cfg, { ...init, prompt: promptRows(cfg.pool?.k) }, [m, m], what);
  }
});

test('a task-level position at j splits the prompt: P[:j] before the text, P[j:] after it', () => {
  const cfg: DynamicPromptConfig = { numVirtualTokens: m, position: 'task' };
  const init = initDynamicPrompt(model, cfg, prngKey(2));
  for (let j = 0; j <= m; j++) {
    const logits = keep(
      tensor(
        bk,
        Float64Array.from({ length: m + 1 }, (_, i) => (i === j ? 5 : 0)),
        { shape: [m + 1], dtype: 'f64' },
      ),
    );
    checkLayout(cfg, { ...init, prompt: promptRows(), position: { logits } }, [j, j], `j = ${j}`);
  }
});

test.run();
