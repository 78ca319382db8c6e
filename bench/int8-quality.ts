/**
 * What int8 frozen weights (core/tensor/int8.ts) cost in accuracy, against the same encoder with f32
 * weights, on the CPU reference backend (the int8 arithmetic the WASM kernels reproduce bit for bit):
 *   - per layer: ‖h_int8 − h_f32‖ / ‖h_f32‖ of the hidden states after each layer (all rows, one batch);
 *   - the soft prompt's gradient (cross-entropy of a random head on the [CLS] row, 8 prompt rows): cosine to f32's
 *     and relative norm error; for the HF fixtures also the gradient to inputs_embeds under the
 *     fixture's own cotangent;
 * for four placements: every dense layer int8, and int8 except the attention output projection, the
 * FFN's second matmul, or both (kept f32).
 *   node --import ./scripts/register.mjs bench/int8-quality.ts [--json]
 */
import {
  concat,
  cpuBackend,
  crossEntropy,
  gather,
  linear,
  randomNormal,
  reshape,
  scope,
  slice,
  tensor,
  valueAndGrad,
  vjp,
  prngKey,
  type Backend,
  type Tensor,
} from '../core/index.ts';
import { BertEncoder } from '../models/bert/layer.ts';
import { BertModel } from '../models/bert/model.ts';
import { loadCheckpoint } from '../models/bert/io/checkpoint.ts';
import type { WeightStorage } from '../models/bert/modules.ts';
import { fixtureModel, fixtureReference, type FixtureName } from '../models/bert/testing/hf-fixture.ts';

const json = process.argv.includes('--json');
const bk: Backend = cpuBackend();

const PLACEMENTS: Record<string, ((p: string) => boolean) | undefined> = {
  'all int8': undefined,
  'attn-out f32': (p) => p.endsWith('attention.output.dense'),
  'ffn-out f32': (p) => /layer\.\d+\.output\.dense$/.test(p),
  'attn-out + ffn-out f32': (p) => p.endsWith('attention.output.dense') || /layer\.\d+\.output\.dense$/.test(p),
};

type Load = (storage: WeightStorage, keepF32?: (p: string) => boolean) => BertModel;

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

/** The model truncated after `n` layers (the modules are shared, nothing is copied). */
const firstLayers = (m: BertModel, n: number): BertModel =>
  new BertModel(m.cfg, m.dtype, m.bk, m.embeddings, new BertEncoder(m.layers.slice(0, n)), m.pooler, m.mlmHead);

interface Batch {
  readonly hostIds: Int32Array;
  readonly ids: Tensor;
  readonly mask: Tensor;
}

function batchOf(vocab: number, B: number, T: number, seed: number): Batch {
  let s = seed >>> 0;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const ids = Int32Array.from({ length: B * T }, () => 5 + Math.floor(rnd() * (vocab - 5)));
  const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - ((Math.floor(i / T) * 3) % (T >> 1)) ? 1 : 0));
  return {
    hostIds: ids,
    ids: tensor(bk, ids, { shape: [B, T], dtype: 'i32' }),
    mask: tensor(bk, mask, { shape: [B, T], dtype: 'i32' }),
  };
}

function hiddenPerLayer(m: BertModel, b: Batch): Float32Array[] {
  return m.layers.map(
    (_, l) =>
      scope(
        bk,
        () =>
          firstLayers(m, l + 1).encode({ inputIds: b.ids, attentionMask: b.mask, hostInputIds: b.hostIds })
            .lastHiddenState,
      ).dataSync() as Float32Array,
  );
}

/**
 * d loss / d prompt of a soft prompt (rows of the word table) before the batch, a random pooled head, CE.
 * `needed`: the encoder computes only the [CLS] row in the last layer (outputPositions), as the prompt methods
 * run it, which folds that layer's key and value projections into the query (models/bert/attention-folded.ts).
 */
function promptGrad(m: BertModel, b: Batch, promptRows: number, needed = false): Float32Array {
  const d = m.cfg.hiddenSize,
    [B, T] = b.ids.shape as [number, number];
  const g = scope(bk, () => {
    const prompt = gather(
      m.wordEmbeddings,
      tensor(
        bk,
        Int32Array.from({ length: promptRows }, (_, i) => 100 + 7 * i),
        { shape: [promptRows], dtype: 'i32' },
      ),
    );
    const headW = randomNormal(bk, prngKey(7), [3, d], 0, 0.5);
    const labels = tensor(
      bk,
      Int32Array.from({ length: B }, (_, i) => i % 3),
      { shape: [B], dtype: 'i32' },
    );
    const mask = concat(
      [tensor(bk, new Int32Array(B * promptRows).fill(1), { shape: [B, promptRows], dtype: 'i32' }), b.mask],
      1,
    );
    const [, grad] = valueAndGrad((p: Tensor) => {
      const words = reshape(gather(m.wordEmbeddings, reshape(b.ids, [B * T])), [B, T, d]);
      const emb = concat(
        [
          reshape(
            concat(
              Array.from({ length: B }, () => p),
              0,
            ),
            [B, promptRows, d],
          ),
          words,
        ],
        1,
      );
      const h = m.encode({
        inputsEmbeds: emb,
        attentionMask: mask,
        ...(needed ? { outputPositions: Array.from({ length: B }, () => [0]) } : {}),
      }).lastHiddenState;
      return crossEntropy(linear(reshape(slice(h, [0, 0, 0], [B, 1, d]), [B, d]), headW), labels); // [CLS] row
    })(prompt);
    return grad;
  });
  const out = g.dataSync() as Float32Array;
  g.dispose();
  return out;
}

/** The fixture's VJP to inputs_embeds (its own cotangent), as the f16 parity test runs it. */
function fixtureEmbedsGrad(m: BertModel, name: FixtureName): Float32Array {
  const ref = fixtureReference(name);
  const t = (k: string, dt: 'i32' | 'f32'): Tensor => {
    const r = ref.get(k)!;
    return tensor(bk, r.data, { shape: r.shape, dtype: dt });
  };
  const g = scope(bk, () => {
    const pos = ref.has('vjp.position_ids') ? t('vjp.position_ids', 'i32') : undefined;
    const [, pull] = vjp(
      (e: Tensor) =>
        m.encode({
          inputsEmbeds: e,
          attentionMask: t('forward.attention_mask', 'i32'),
          ...(pos ? { positionIds: pos } : {}),
        }).lastHiddenState,
      t('vjp.inputs_embeds', 'f32'),
    );
    return pull(t('vjp.cotangent', 'f32'));
  });
  const out = g.dataSync() as Float32Array;
  g.dispose();
  return out;
}

async function demoLoad(): Promise<Load> {
  const folder = new URL('../models/demo-encoder/', import.meta.url).pathname;
  const ck = await loadCheckpoint(folder, 'f32')();
  if (ck._tag === 'Left') throw new Error(ck.left.message);
  const { weights, config } = ck.right;
  return (storage, keepF32) =>
    BertModel.load(weights, config, bk, 'f32', { weightStorage: storage, ...(keepF32 ? { keepF32 } : {}) });
}

const encoders: [string, Load, FixtureName | undefined, number, number][] = [
  [
    'bert-tiny (HF fixture)',
    (s, k) => fixtureModel('bert-tiny', bk, 'f32', { weightStorage: s, ...(k ? { keepF32: k } : {}) }),
    'bert-tiny',
    8,
    32,
  ],
  [
    'roberta-tiny (HF fixture)',
    (s, k) => fixtureModel('roberta-tiny', bk, 'f32', { weightStorage: s, ...(k ? { keepF32: k } : {}) }),
    'roberta-tiny',
    8,
    32,
  ],
  ['demo encoder (4×128)', await demoLoad(), undefined, 8, 64],
];

const rows: Record<string, unknown>[] = [];
for (const [label, load, fixture, B, T] of encoders) {
  const f32 = load('f32');
  const batch = batchOf(f32.cfg.vocabSize, B, T, 11);
  const hRef = hiddenPerLayer(f32, batch),
    gRef = promptGrad(f32, batch, 8),
    gNeededRef = promptGrad(f32, batch, 8, true),
    eRef = fixture ? fixtureEmbedsGrad(f32, fixture) : undefined;
  for (const [placement, keep] of Object.entries(PLACEMENTS)) {
    const q = load('int8', keep);
    const h = hiddenPerLayer(q, batch),
      g = promptGrad(q, batch, 8),
      gNeeded = promptGrad(q, batch, 8, true),
      e = fixture ? fixtureEmbedsGrad(q, fixture) : undefined;
    const r = {
      encoder: label,
      placement,
      layerRelErr: h.map((x, l) => Number(relErr(x, hRef[l]!).toPrecision(3))),
      promptGradCos: Number(cosine(g, gRef).toFixed(5)),
      promptGradRelErr: Number(relErr(g, gRef).toPrecision(3)),
      // the same with only the [CLS] row in the last layer (folded attention), int8 against f32 both so
      promptGradNeededCos: Number(cosine(gNeeded, gNeededRef).toFixed(5)),
      promptGradNeededRelErr: Number(relErr(gNeeded, gNeededRef).toPrecision(3)),
      ...(e && eRef ? { embedsGradCos: Number(cosine(e, eRef).toFixed(5)) } : {}),
    };
    rows.push(r);
    if (json) console.log(JSON.stringify(r));
    else
      console.log(
        `${label.padEnd(26)} ${placement.padEnd(24)} per-layer rel err ${r.layerRelErr.map((x) => x.toExponential(2)).join(' ')}  prompt-grad cos ${r.promptGradCos} (rel err ${r.promptGradRelErr}), [CLS] row only ${r.promptGradNeededCos} (${r.promptGradNeededRelErr})${'embedsGradCos' in r ? `  inputs_embeds-grad cos ${r.embedsGradCos}` : ''}`,
      );
  }
}
