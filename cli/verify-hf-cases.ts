/**
 * Runs every case a Hugging Face reference folder describes (reference.json + reference.safetensors,
 * as the fixtures' gen.py writes them) and reports each key's max absolute / relative error.
 * Every key of the reference must be either compared or consumed as an input; a key nobody checked
 * is a failure, so a newer gen.py with more cases cannot pass silently.
 */
import {
  crossEntropy,
  scope,
  tensor,
  valueAndGrad,
  vjp,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import { Linear } from '../models/bert/modules.ts';
import type { RawTensor } from '../models/bert/io/raw-tensor.ts';
import { tokenBatch } from '../prompting/common.ts';
import { classifierLogits } from '../prompting/heads.ts';
import { applyPrefix } from '../prompting/prefix.ts';
import { applySoftPrompt } from '../prompting/soft-prompt.ts';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}
export interface KeyResult {
  readonly key: string;
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly tol: Tolerance;
  readonly detail?: string;
}

/** README of the fixtures: f64 agrees to ~1e-5 relative; f32 to ~1e-4 absolute on states, 1e-3 relative on gradients. */
export function tolerances(dtype: FloatDType): { states: Tolerance; grads: Tolerance; encoderVjp: Tolerance } {
  // gen.py draws the VJP cotangent in float64 but stores it as float32, so the encoder gradient we
  // recompute from the stored cotangent differs by ~1e-5 of its scale even in float64.
  return dtype === 'f64'
    ? { states: { atol: 1e-6, rtol: 1e-5 }, grads: { atol: 1e-8, rtol: 1e-5 }, encoderVjp: { atol: 1e-5, rtol: 1e-5 } }
    : { states: { atol: 1e-4, rtol: 1e-3 }, grads: { atol: 1e-5, rtol: 1e-3 }, encoderVjp: { atol: 1e-4, rtol: 1e-3 } };
}

export function compare(key: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): KeyResult {
  if (got.length !== ref.length)
    return { key, ok: false, maxAbs: NaN, maxRel: NaN, tol, detail: `length ${got.length} vs reference ${ref.length}` };
  let maxAbs = 0,
    maxRel = 0,
    ok = true,
    firstBad = -1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    maxAbs = Math.max(maxAbs, d);
    if (ref[i] !== 0) maxRel = Math.max(maxRel, d / Math.abs(ref[i]!));
    if (!(d <= tol.atol + tol.rtol * Math.abs(ref[i]!))) {
      if (firstBad < 0) firstBad = i;
      ok = false;
    }
  }
  return ok
    ? { key, ok, maxAbs, maxRel, tol }
    : {
        key,
        ok,
        maxAbs,
        maxRel,
        tol,
        detail: `first mismatch at ${firstBad}: got ${got[firstBad]}, reference ${ref[firstBad]}`,
      };
}

/** A comparison whose tensor is read after the case's scope (GPU reads are asynchronous). */
type Pending = readonly [key: string, got: Tensor, ref: ArrayLike<number>, tol: Tolerance];

async function settle(pending: readonly Pending[]): Promise<KeyResult[]> {
  const out: KeyResult[] = [];
  for (const [key, got, ref, tol] of pending) {
    out.push(compare(key, await got.data(), ref, tol));
    got.dispose();
  }
  return out;
}

export interface TensorCaseContext {
  readonly bk: Backend;
  readonly model: BertModel;
  readonly dtype: FloatDType;
  readonly ref: ReadonlyMap<string, RawTensor>;
  readonly peftConfigs: Readonly<
    Record<string, { readonly num_virtual_tokens?: number; readonly prefix_projection?: boolean }>
  >;
  /** Keys consumed as inputs (marked so the "unchecked key" rule can see them). */
  readonly used: Set<string>;
}

function get(c: TensorCaseContext, key: string): RawTensor {
  const t = c.ref.get(key);
  if (!t) throw new Error(`reference.safetensors has no "${key}"`);
  c.used.add(key);
  return t;
}
const upload = (c: TensorCaseContext, key: string, dt: 'i32' | FloatDType = c.dtype): Tensor => {
  const r = get(c, key);
  return tensor(c.bk, r.data, { shape: r.shape, dtype: dt });
};

/** forward.*: embeddings, last hidden state, MLM logits of the padded batch. */
export function forwardCase(c: TensorCaseContext): Promise<KeyResult[]> {
  const tol = tolerances(c.dtype).states;
  return settle(
    scope(c.bk, (): Pending[] => {
      const ids = get(c, 'forward.input_ids');
      const out = c.model.encode({
        inputIds: upload(c, 'forward.input_ids', 'i32'),
        attentionMask: upload(c, 'forward.attention_mask', 'i32'),
        ...(c.ref.has('forward.token_type_ids') ? { tokenTypeIds: upload(c, 'forward.token_type_ids', 'i32') } : {}),
        hostInputIds: ids.data as Int32Array,
      });
      const results: Pending[] = [
        ['forward.embeddings', out.embeddings, get(c, 'forward.embeddings').data, tol],
        ['forward.last_hidden_state', out.lastHiddenState, get(c, 'forward.last_hidden_state').data, tol],
      ];
      if (c.ref.has('forward.mlm_logits')) {
        results.push([
          'forward.mlm_logits',
          c.model.mlmLogits(out.lastHiddenState),
          get(c, 'forward.mlm_logits').data,
          tol,
        ]);
      }
      return results;
    }),
  );
}

/** vjp.*: the encoder called with inputs_embeds, backpropagated from the stored cotangent. */
export function vjpCase(c: TensorCaseContext): Promise<KeyResult[]> {
  const { states, encoderVjp } = tolerances(c.dtype);
  return settle(
    scope(c.bk, (): Pending[] => {
      const mask = upload(c, 'forward.attention_mask', 'i32');
      const extra = {
        ...(c.ref.has('vjp.position_ids') ? { positionIds: upload(c, 'vjp.position_ids', 'i32') } : {}),
        ...(c.ref.has('forward.token_type_ids') ? { tokenTypeIds: upload(c, 'forward.token_type_ids', 'i32') } : {}),
      };
      const [y, pullback] = vjp(
        (e: Tensor) => c.model.encode({ inputsEmbeds: e, attentionMask: mask, ...extra }).lastHiddenState,
        upload(c, 'vjp.inputs_embeds'),
      );
      const g = pullback(upload(c, 'vjp.cotangent'));
      return [
        ['vjp.last_hidden_state', y, get(c, 'vjp.last_hidden_state').data, states],
        ['vjp.grad_inputs_embeds', g, get(c, 'vjp.grad_inputs_embeds').data, encoderVjp],
      ];
    }),
  );
}

/** peft.<method>.*: PEFT's SEQ_CLS prompt / prefix tuning loss, logits and trainable gradients. */
export function peftCase(c: TensorCaseContext, method: string): Promise<KeyResult[]> {
  const { states, grads } = tolerances(c.dtype);
  const cfg = c.peftConfigs[method];
  if (method !== 'prompt' && method !== 'prefix')
    throw new Error(`peft.${method}: unknown PEFT case (expected prompt or prefix)`);
  if (method === 'prefix' && cfg?.prefix_projection)
    throw new Error('peft.prefix with prefix_projection is not covered by the reference format');
  const p = `peft.${method}`;
  return settle(
    scope(c.bk, (): Pending[] => {
      const ids = get(c, 'forward.input_ids');
      const [B, T] = ids.shape as [number, number];
      const tt = c.ref.has('forward.token_type_ids')
        ? (get(c, 'forward.token_type_ids').data as Int32Array)
        : undefined;
      const batch = tokenBatch(
        c.bk,
        B,
        T,
        ids.data as Int32Array,
        get(c, 'forward.attention_mask').data as Int32Array,
        tt,
      );
      const pooler = new Linear(
        upload(c, `${p}.frozen.pooler.dense.weight`),
        upload(c, `${p}.frozen.pooler.dense.bias`),
      );
      const labels = upload(c, 'peft.labels', 'i32');
      const params = {
        table: upload(c, `${p}.param.prompt_encoder.embedding.weight`),
        head: { weight: upload(c, `${p}.param.classifier.weight`), bias: upload(c, `${p}.param.classifier.bias`) },
      };
      const m = params.table.shape[0]!;
      const loss = (q: typeof params): [Tensor, Tensor] => {
        const inputs =
          method === 'prompt'
            ? applySoftPrompt(c.model, { promptEmbeddings: q.table }, batch, {
                numVirtualTokens: cfg?.num_virtual_tokens ?? m,
              })
            : applyPrefix(c.model, { embedding: q.table }, batch);
        const logits = classifierLogits(c.model, c.model.encode(inputs).lastHiddenState, q.head, { pooler });
        return [crossEntropy(logits, labels), logits];
      };
      const [[value, logits], g] = valueAndGrad(loss, { hasAux: true })(params);
      return [
        [`${p}.loss`, value, get(c, `${p}.loss`).data, grads],
        [`${p}.logits`, logits, get(c, `${p}.logits`).data, states],
        [
          `${p}.grad.prompt_encoder.embedding.weight`,
          g.table,
          get(c, `${p}.grad.prompt_encoder.embedding.weight`).data,
          grads,
        ],
        [`${p}.grad.classifier.weight`, g.head.weight, get(c, `${p}.grad.classifier.weight`).data, grads],
        [`${p}.grad.classifier.bias`, g.head.bias, get(c, `${p}.grad.classifier.bias`).data, grads],
      ];
    }),
  );
}
