/**
 * Masked-language-model pretraining pieces: BERT masking (15 % of the non-special tokens selected;
 * of those 80 % → [MASK], 10 % → a random token, 10 % unchanged), the loss (cross-entropy on the
 * selected positions only — the head runs on those rows, so every label is valid and nothing needs
 * ignoreIndex), one AdamW step with global-norm clipping through the full backward to every
 * encoder weight, and held-out evaluation (loss and masked-token accuracy).
 */
import {
  argmax,
  crossEntropy,
  foldIn,
  gather,
  prngKey,
  reshape,
  scope,
  tensor,
  uniformArray,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { BertConfig } from '../models/bert/config.ts';
import { clipByGlobalNorm } from '../training/clip.ts';
import type { OptState, Optimizer } from '../training/optimizer.ts';
import { bertFromTensors, type EncoderParams } from './params.ts';

export interface MaskingOptions {
  readonly vocabSize: number;
  readonly maskId: number;
  /** Ids never selected (PAD, CLS, SEP, …). */
  readonly specialIds: ReadonlySet<number>;
  /** Random replacements are drawn from [firstRandomId, vocabSize) (default: after the specials, 5). */
  readonly firstRandomId?: number;
  readonly maskProb?: number;
  /**
   * Pad the selected positions to exactly this many (label -100, position 0; BERT's
   * max_predictions): every step then has the same shapes, which lets allocators that recycle
   * blocks by size (the WASM backend's heap) reuse them. Selection stops once it is reached.
   */
  readonly maxPredictions?: number;
}

/**
 * A batch of fixed-length rows with the masked positions (flat b·T + t), their labels (IGNORE for
 * padding entries) and inputs.
 */
export interface MaskedBatch {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly inputIds: Int32Array;
  readonly positions: Int32Array;
  readonly labels: Int32Array;
}

/** BERT masking, a pure function of the ids and the key. At least one position is always selected. */
export const IGNORE = -100;

export function maskTokens(
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  key: PRNGKey,
  o: MaskingOptions,
): MaskedBatch {
  if (ids.length !== batchSize * seqLen)
    throw new Error(`maskTokens: ${ids.length} ids for a [${batchSize}, ${seqLen}] batch`);
  const p = o.maskProb ?? 0.15,
    lo = o.firstRandomId ?? 5;
  const u = uniformArray(key, ids.length * 3);
  const input = Int32Array.from(ids);
  const pos: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (o.specialIds.has(id) || u[3 * i]! >= p || pos.length === o.maxPredictions) continue;
    pos.push(i);
    labels.push(id);
    const r = u[3 * i + 1]!;
    if (r < 0.8) input[i] = o.maskId;
    else if (r < 0.9) input[i] = lo + Math.min(o.vocabSize - lo - 1, Math.floor(u[3 * i + 2]! * (o.vocabSize - lo)));
  }
  if (pos.length === 0) {
    const i = ids.findIndex((id) => !o.specialIds.has(id));
    if (i < 0) throw new Error('maskTokens: the batch holds only special tokens');
    pos.push(i);
    labels.push(ids[i]!);
    input[i] = o.maskId;
  }
  while (o.maxPredictions !== undefined && pos.length < o.maxPredictions) {
    pos.push(0);
    labels.push(IGNORE);
  }
  return { batchSize, seqLen, inputIds: input, positions: Int32Array.from(pos), labels: Int32Array.from(labels) };
}

export interface MlmContext {
  readonly cfg: BertConfig;
  readonly bk: Backend;
  readonly dtype: FloatDType;
}

/** Logits [M, V] at the masked positions and the mean cross-entropy against their labels. */
export function mlmForward(ctx: MlmContext, params: EncoderParams, b: MaskedBatch): { loss: Tensor; logits: Tensor } {
  const model = bertFromTensors(ctx.cfg, ctx.bk, ctx.dtype, params);
  const ids = tensor(ctx.bk, b.inputIds, { shape: [b.batchSize, b.seqLen], dtype: 'i32' });
  const h = model.encode({ inputIds: ids }).lastHiddenState;
  const rows = gather(
    reshape(h, [b.batchSize * b.seqLen, ctx.cfg.hiddenSize]),
    tensor(ctx.bk, b.positions, { shape: [b.positions.length], dtype: 'i32' }),
  );
  const logits = model.mlmLogits(rows);
  const loss = crossEntropy(logits, tensor(ctx.bk, b.labels, { shape: [b.labels.length], dtype: 'i32' }), {
    ignoreIndex: IGNORE,
  });
  return { loss, logits };
}

export const mlmLoss =
  (ctx: MlmContext) =>
  (params: EncoderParams, b: MaskedBatch): Tensor =>
    mlmForward(ctx, params, b).loss;

export interface StepResult<K extends string> {
  readonly params: EncoderParams;
  readonly opt: OptState<K>;
  readonly loss: number;
  /** Pre-clip global gradient norm. */
  readonly gradNorm: number;
}

/** One update: loss and gradients of every weight, clip to `maxGradNorm`, optimiser step. */
export function trainStep<K extends string>(
  ctx: MlmContext,
  optimizer: Optimizer<K>,
  params: EncoderParams,
  opt: OptState<K>,
  b: MaskedBatch,
  lr: number,
  maxGradNorm = 1,
): StepResult<K> {
  const vg = valueAndGrad(mlmLoss(ctx));
  return scope(ctx.bk, () => {
    const [loss, grads] = vg(params, b);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, maxGradNorm);
    const r = optimizer.update(params, clipped, opt, lr);
    return { params: r.params, opt: r.state, loss: loss.itemSync(), gradNorm: norm.itemSync() };
  });
}

export interface EvalResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly masked: number;
}

/** Held-out MLM loss (token-weighted mean) and masked-token accuracy over fixed masked batches. */
export function evaluateMlm(ctx: MlmContext, params: EncoderParams, batches: readonly MaskedBatch[]): EvalResult {
  let lossSum = 0,
    correct = 0,
    n = 0;
  for (const b of batches) {
    scope(ctx.bk, () => {
      const { loss, logits } = mlmForward(ctx, params, b);
      const pred = argmax(logits, -1).dataSync();
      const valid = b.labels.filter((l) => l !== IGNORE).length;
      for (let i = 0; i < b.labels.length; i++) if (b.labels[i] !== IGNORE && pred[i] === b.labels[i]) correct++;
      lossSum += loss.itemSync() * valid;
      n += valid;
    });
  }
  return { loss: lossSum / Math.max(1, n), accuracy: correct / Math.max(1, n), masked: n };
}

/** Held-out batches of `batch` rows with fixed masks (keys independent of the training steps). */
export function heldOutBatches(
  rows: Int32Array,
  batch: number,
  seqLen: number,
  seed: number,
  o: MaskingOptions,
): MaskedBatch[] {
  const out: MaskedBatch[] = [];
  const n = rows.length / seqLen;
  for (let r = 0; r < n; r += batch) {
    const k = Math.min(batch, n - r);
    out.push(maskTokens(rows.subarray(r * seqLen, (r + k) * seqLen), k, seqLen, stepKey(prngKey(seed + 0x7e57), r), o));
  }
  return out;
}

/**
 * The unigram baseline on held-out masked tokens: cross-entropy under the training rows' token
 * frequencies (add-one smoothed) and the accuracy of always guessing the most frequent token.
 */
export function unigramBaseline(
  trainRows: Int32Array,
  vocabSize: number,
  batches: readonly MaskedBatch[],
  specialIds: ReadonlySet<number>,
): { loss: number; accuracy: number } {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const id of trainRows) if (!specialIds.has(id)) counts[id]! += 1;
  let total = 0,
    top = 0;
  counts.forEach((c, i) => {
    total += c;
    if (c > counts[top]!) top = i;
  });
  let nll = 0,
    hit = 0,
    n = 0;
  for (const b of batches)
    for (const l of b.labels)
      if (l !== IGNORE) {
        nll -= Math.log(counts[l]! / total);
        hit += l === top ? 1 : 0;
        n++;
      }
  return { loss: nll / Math.max(1, n), accuracy: hit / Math.max(1, n) };
}

/** The masking key of step `step` (resume-safe: a pure function of the run key and the step). */
export const stepKey = (root: PRNGKey, step: number): PRNGKey => foldIn(foldIn(root, 0x6d6c6d), step);
