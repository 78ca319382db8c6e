/**
 * The run the folded last-layer attention's tests share (models/bert/attention-folded.test.ts on the CPU
 * and WASM, proofs-tests/kernels/encoder-folded.parity.test.ts on WebGPU): the fixture encoder on a padded
 * batch, reading R rows, with the fold on or off.
 */
import {
  mul,
  prngKey,
  randomNormal,
  randomUniform,
  scope,
  splitKey,
  sum,
  tensor,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../../../core/index.ts';
import { FOLDED_ATTENTION } from '../attention-folded.ts';
import type { BertModel, EncoderInputs } from '../model.ts';
import { fixtureConfig, type FixtureName } from './hf-fixture.ts';

const B = 3,
  T = 12;
const LENGTHS = [12, 9, 5];
const HOST_MASK = Int32Array.from({ length: B * T }, (_, i) => Number(i % T < LENGTHS[Math.floor(i / T)]!));

export interface FoldCase {
  readonly skipPadding?: boolean;
  readonly keyWeights?: boolean;
  readonly prefix?: boolean;
  readonly dropout?: boolean;
  /** Output positions per example (default: the first row, as the pooled head reads). */
  readonly positions?: readonly (readonly number[])[];
}

/** What one run gives: the loss and d loss / d inputs_embeds (and / d keyWeights). */
export interface FoldRun {
  readonly loss: number;
  readonly e: Float64Array;
  readonly kw: Float64Array | undefined;
}

/**
 * Loss Σ w ⊙ (the rows read) of the fixture model on a padded batch of B = 3, T = 12 and its gradients, with
 * the folded last-layer attention on or off (FOLDED_ATTENTION): the two sides the fold's tests compare.
 */
export async function foldRun(
  bk: Backend,
  model: BertModel,
  name: FixtureName,
  dtype: FloatDType,
  c: FoldCase,
  fold: boolean,
): Promise<FoldRun> {
  const cfg = fixtureConfig(name);
  const d = cfg.hiddenSize,
    H = cfg.numAttentionHeads,
    m = 2;
  const positions = c.positions ?? [[0], [0], [0]];
  FOLDED_ATTENTION.enabled = fold;
  let out: readonly [Tensor, Tensor, Tensor | undefined];
  try {
    out = scope(bk, () => {
      const [ke, kw, kk, kp] = splitKey(prngKey(11), 4);
      const mask = tensor(bk, HOST_MASK, { shape: [B, T], dtype: 'i32' });
      const positionIds = tensor(
        bk,
        Int32Array.from({ length: B * T }, (_, i) => (i % T) + 2),
        { shape: [B, T], dtype: 'i32' },
      );
      const params: { e: Tensor; kw?: Tensor } = {
        e: randomNormal(bk, ke!, [B, T, d], 0, 1, { dtype }),
        ...(c.keyWeights ? { kw: randomUniform(bk, kk!, [B, T], 0.2, 1, { dtype }) } : {}),
      };
      const prefix = c.prefix
        ? Array.from({ length: cfg.numHiddenLayers }, () => ({
            key: randomNormal(bk, kp!, [B, H, m, d / H], 0, 1, { dtype }),
            value: randomNormal(bk, kp!, [B, H, m, d / H], 0, 1, { dtype }),
          }))
        : undefined;
      const weights = randomNormal(bk, kw!, [B, positions[0]!.length, d], 0, 1, { dtype });
      const loss = (p: typeof params) => {
        const inputs: EncoderInputs = {
          inputsEmbeds: p.e,
          attentionMask: mask,
          positionIds,
          outputPositions: positions,
          ...(p.kw ? { keyWeights: p.kw } : {}),
          ...(prefix ? { prefix } : {}),
          ...(c.skipPadding ? { skipPadding: true, hostAttentionMask: HOST_MASK } : {}),
          ...(c.dropout ? { dropoutKey: prngKey(3) } : {}),
        };
        return sum(mul(model.encode(inputs).lastHiddenState, weights));
      };
      const [v, g] = valueAndGrad(loss)(params);
      return [v, g.e, g.kw] as const;
    });
  } finally {
    FOLDED_ATTENTION.enabled = true;
  }
  const [v, e, kw] = out;
  const result = {
    loss: (await v.data())[0]!,
    e: Float64Array.from(await e.data()),
    kw: kw && Float64Array.from(await kw.data()),
  };
  for (const t of [v, e, kw]) t?.dispose();
  return result;
}
