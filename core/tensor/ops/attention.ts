/**
 * Fused scaled-dot-product attention as one primitive (flash-style kernels on WebGPU, plain loops on
 * the CPU reference). Saves only lse [B,H,Tq] (and reads its own output) instead of the [B,H,Tq,Tk]
 * probabilities the composite keeps; the backward kernel recomputes them.
 * The composite `attention` in core/tensor/nn.ts is the reference it is tested against; the primitive
 * is named `attention`, after the backend method (core/autograd/primitives.ts), its VJP is in vjp-rules.ts.
 */
import { fmt, ShapeError } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { backendOf, bind, requireFloat } from './bind.ts';

/** Why q/k/v/bias cannot take the fused path (undefined: they can). */
export function fusedAttentionMismatch(q: Tensor, k: Tensor, v: Tensor, bias?: Tensor): string | undefined {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4)
    return `q, k, v must be rank 4 [B,H,T,Dh], got ${fmt(q.shape)}, ${fmt(k.shape)}, ${fmt(v.shape)}`;
  const [B, H, Tq, Dh] = q.shape as [number, number, number, number];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== Dh)
    return `k ${fmt(k.shape)} does not match q ${fmt(q.shape)} in B, H, Dh`;
  if (v.shape.some((d, i) => d !== k.shape[i])) return `v ${fmt(v.shape)} must have k's shape ${fmt(k.shape)}`;
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) return `dtype mismatch q ${q.dtype}, k ${k.dtype}, v ${v.dtype}`;
  if (!bias) return undefined;
  const full = [B, H, Tq, k.shape[2]!];
  if (bias.rank > 4 || bias.shape.some((d, i) => d !== 1 && d !== full[4 - bias.rank + i])) {
    return `bias ${fmt(bias.shape)} is not broadcastable to [${full.join(', ')}]`;
  }
  if (bias.dtype !== q.dtype) return `bias dtype ${bias.dtype} vs q ${q.dtype}`;
  return undefined;
}

/**
 * softmax(scale·q·kᵀ + bias)·v in one kernel: q [B,H,Tq,Dh], k/v [B,H,Tk,Dh], bias additive and
 * broadcastable to [B,H,Tq,Tk]. The bias gets no gradient (passing a traced bias throws; use the
 * composite `attention` for a learned bias).
 */
export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | undefined, scale: number): Tensor {
  const ins = bias ? [q, k, v, bias] : [q, k, v];
  const bk = backendOf('fusedAttention', ins);
  requireFloat('fusedAttention', q);
  const why = fusedAttentionMismatch(q, k, v, bias);
  if (why) throw new ShapeError(`fusedAttention: ${why}`);
  if (bias?.activeTrace)
    throw new Error(
      'fusedAttention: the bias is a mask and gets no gradient, but it is being differentiated; use attention() (the composite) for a learned bias',
    );
  const r = bk.attention(q, k, v, bias, scale);
  const lse = new Tensor(bk, r.lse, q.shape.slice(0, 3), q.dtype);
  return bind('attention', ins, { scale, hasBias: !!bias }, { id: r.out, shape: q.shape, dtype: q.dtype }, [lse]);
}

/** The fused attention backward kernel (not itself differentiable). */
export function attentionBackward(
  dOut: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | undefined,
  out: Tensor,
  lse: Tensor,
  scale: number,
) {
  const ins = [dOut, q, k, v, out, lse];
  const bk = backendOf('attentionBackward', ins);
  const r = bk.attentionBackward(dOut, q, k, v, bias, out, lse, scale);
  return {
    dq: bind('attentionBackward', ins, null, { id: r.dq, shape: q.shape, dtype: q.dtype }),
    dk: bind('attentionBackward', ins, null, { id: r.dk, shape: k.shape, dtype: k.dtype }),
    dv: bind('attentionBackward', ins, null, { id: r.dv, shape: v.shape, dtype: v.dtype }),
  };
}
