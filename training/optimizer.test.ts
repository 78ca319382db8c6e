import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, foldIn, normalArray, prngKey, tensor, treeLeaves, type Tensor } from '../core/index.ts';
import { adafactor } from './adafactor.ts';
import { adamw, noDecayOnBiasAndNorm, sgd, type Optimizer } from './optimizer.ts';
import { disposeTree } from './tree-util.ts';

const bk = cpuBackend();
const SHAPES: Record<string, number[]> = { 'head.bias': [3], 'head.weight': [3, 4], prompt: [2, 5] };
type Params = { head: { weight: Tensor; bias: Tensor }; prompt: Tensor };
type Host = Record<string, Float64Array>;

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const hostInit = (): Host =>
  Object.fromEntries(Object.entries(SHAPES).map(([k, s], i) => [k, normalArray(prngKey(100 + i), size(s))]));
const hostGrad = (step: number): Host =>
  Object.fromEntries(
    Object.entries(SHAPES).map(([k, s], i) => [
      k,
      normalArray(foldIn(prngKey(7 + i), step), size(s)).map((x) => x * (1 + step)),
    ]),
  );
const toTree = (h: Host): Params => {
  const t = (k: string) => tensor(bk, h[k]!, { shape: SHAPES[k]!, dtype: 'f64' });
  return { head: { weight: t('head.weight'), bias: t('head.bias') }, prompt: t('prompt') };
};
const fromTree = (p: unknown): Host =>
  Object.fromEntries(treeLeaves(p).map(({ path, leaf }) => [path, leaf.dataSync() as Float64Array]));
const lrs = [1e-2, 3e-2, 0.1, 0.05, 0.02, 0.01];

function run<K extends string>(opt: Optimizer<K>): Host {
  let params = toTree(hostInit());
  let state = opt.init(params);
  for (let s = 0; s < lrs.length; s++) {
    const grads = toTree(hostGrad(s));
    const next = opt.update(params, grads, state, lrs[s]!);
    disposeTree(params);
    disposeTree(state.slots);
    disposeTree(grads);
    params = next.params;
    state = next.state;
  }
  assert.is(state.step, lrs.length);
  return fromTree(params);
}

function maxRelDiff(a: Host, b: Host): number {
  let worst = 0;
  for (const k of Object.keys(SHAPES)) {
    const x = a[k]!,
      y = b[k]!;
    for (let i = 0; i < x.length; i++)
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1e-300, Math.abs(y[i]!)));
  }
  return worst;
}

test('AdamW matches a hand-rolled torch.optim.AdamW loop bit for bit (f64, decay mask)', () => {
  const [b1, b2, eps, wd] = [0.9, 0.98, 1e-6, 0.1];
  const p = hostInit();
  const m: Host = {},
    v: Host = {};
  for (const k in SHAPES) {
    m[k] = new Float64Array(p[k]!.length);
    v[k] = new Float64Array(p[k]!.length);
  }
  for (let s = 0; s < lrs.length; s++) {
    const g = hostGrad(s),
      t = s + 1,
      lr = lrs[s]!;
    for (const k in SHAPES) {
      const lam = k.endsWith('bias') ? 0 : wd;
      for (let i = 0; i < p[k]!.length; i++) {
        const gi = g[k]![i]!;
        m[k]![i] = b1 * m[k]![i]! + (1 - b1) * gi;
        v[k]![i] = b2 * v[k]![i]! + (1 - b2) * gi * gi;
        const mhat = m[k]![i]! / (1 - b1 ** t),
          vhat = v[k]![i]! / (1 - b2 ** t);
        p[k]![i] = p[k]![i]! * (1 - lr * lam) - (lr * mhat) / (Math.sqrt(vhat) + eps);
      }
    }
  }
  const got = run(adamw({ beta1: b1, beta2: b2, eps, weightDecay: wd, decayMask: noDecayOnBiasAndNorm }));
  for (const k in SHAPES) assert.equal(Array.from(got[k]!), Array.from(p[k]!), k);
});

test('AdamW: functional update leaves inputs untouched; inPlace reuses the storages and agrees', () => {
  const params = toTree(hostInit()),
    grads = toTree(hostGrad(0));
  const before = fromTree(params);
  const f = adamw(),
    ip = adamw({ inPlace: true });
  const s0 = f.init(params);
  const a = f.update(params, grads, s0, 0.1);
  assert.equal(fromTree(params), before, 'params unchanged');
  assert.equal(fromTree(s0.slots), fromTree(f.init(params).slots), 'state unchanged');
  const s1 = ip.init(params);
  const b = ip.update(params, grads, s1, 0.1);
  assert.ok(b.params.prompt === params.prompt, 'in place: same param tensor object');
  assert.ok(
    b.state.slots.m !== s1.slots.m && treeLeaves(b.state.slots.m)[0]!.leaf === treeLeaves(s1.slots.m)[0]!.leaf,
    'same m leaves',
  );
  assert.equal(fromTree(b.params), fromTree(a.params));
  assert.equal(fromTree(b.state.slots), fromTree(a.state.slots));
});

test('noDecayOnBiasAndNorm follows the HF bias / LayerNorm grouping', () => {
  assert.is(noDecayOnBiasAndNorm('encoder.layer.0.attention.output.LayerNorm.weight'), false);
  assert.is(noDecayOnBiasAndNorm('head.bias'), false);
  assert.is(noDecayOnBiasAndNorm('prefix.layer_norm.weight'), false);
  assert.is(noDecayOnBiasAndNorm('head.weight'), true);
  assert.is(noDecayOnBiasAndNorm('prompt.embedding'), true);
});

test('SGD with momentum, nesterov and L2 matches a torch.optim.SGD loop bit for bit (f64)', () => {
  for (const nesterov of [false, true]) {
    const [mu, wd] = [0.9, 0.01];
    const p = hostInit(),
      buf: Host = {};
    for (let s = 0; s < lrs.length; s++) {
      const g = hostGrad(s),
        lr = lrs[s]!;
      for (const k in SHAPES) {
        const b = (buf[k] ??= new Float64Array(p[k]!.length));
        for (let i = 0; i < b.length; i++) {
          const d = g[k]![i]! + p[k]![i]! * wd;
          b[i] = s === 0 ? d : b[i]! * mu + d * 1;
          const step = nesterov ? d + b[i]! * mu : b[i]!;
          p[k]![i] = p[k]![i]! + step * -lr;
        }
      }
    }
    const got = run(sgd({ momentum: mu, weightDecay: wd, nesterov }));
    for (const k in SHAPES) assert.equal(Array.from(got[k]!), Array.from(p[k]!), `${k} nesterov=${nesterov}`);
  }
});

test('plain SGD keeps no state', () => {
  const o = sgd();
  const params = toTree(hostInit());
  assert.equal(treeLeaves(o.init(params).slots).length, 0);
  const got = run(o);
  const p = hostInit();
  for (let s = 0; s < lrs.length; s++) {
    const g = hostGrad(s);
    for (const k in SHAPES) for (let i = 0; i < p[k]!.length; i++) p[k]![i] = p[k]![i]! + g[k]![i]! * -lrs[s]!;
  }
  for (const k in SHAPES) assert.equal(Array.from(got[k]!), Array.from(p[k]!));
});

/** HF Adafactor (relative_step=False) over Float64Arrays, factored for the 2-D leaves. */
function adafactorRef(o: { beta1?: number; wd: number; scale: boolean }): Host {
  const [eps1, eps2, clip, decay] = [1e-30, 1e-3, 1, -0.8];
  const p = hostInit();
  const st: Record<string, { r?: Float64Array; c?: Float64Array; v?: Float64Array; m?: Float64Array }> = {};
  const rmsOf = (x: Float64Array) => Math.sqrt(x.reduce((a, b) => a + b * b, 0) / x.length);
  for (let s = 0; s < lrs.length; s++) {
    const g = hostGrad(s),
      t = s + 1,
      b2t = 1 - t ** decay;
    for (const k in SHAPES) {
      const sh = SHAPES[k]!,
        gk = g[k]!,
        pk = p[k]!,
        n = gk.length;
      const e = (st[k] ??= {});
      const u = new Float64Array(n);
      if (sh.length === 2) {
        const [R, C] = sh as [number, number];
        e.r ??= new Float64Array(R);
        e.c ??= new Float64Array(C);
        for (let i = 0; i < R; i++) {
          let a = 0;
          for (let j = 0; j < C; j++) a += gk[i * C + j]! ** 2 + eps1;
          e.r[i] = b2t * e.r[i]! + (1 - b2t) * (a / C);
        }
        for (let j = 0; j < C; j++) {
          let a = 0;
          for (let i = 0; i < R; i++) a += gk[i * C + j]! ** 2 + eps1;
          e.c[j] = b2t * e.c[j]! + (1 - b2t) * (a / R);
        }
        const rMean = e.r.reduce((a, b) => a + b, 0) / R;
        for (let i = 0; i < R; i++)
          for (let j = 0; j < C; j++)
            u[i * C + j] = (1 / Math.sqrt(e.r[i]! / rMean)) * (1 / Math.sqrt(e.c[j]!)) * gk[i * C + j]!;
      } else {
        e.v ??= new Float64Array(n);
        for (let i = 0; i < n; i++) {
          e.v[i] = b2t * e.v[i]! + (1 - b2t) * (gk[i]! ** 2 + eps1);
          u[i] = gk[i]! / Math.sqrt(e.v[i]!);
        }
      }
      const denom = Math.max(1, rmsOf(u) / clip);
      const alpha = lrs[s]! * (o.scale ? Math.max(eps2, rmsOf(pk)) : 1);
      for (let i = 0; i < n; i++) u[i] = (u[i]! / denom) * alpha;
      if (o.beta1 !== undefined) {
        e.m ??= new Float64Array(n);
        for (let i = 0; i < n; i++) u[i] = e.m[i] = o.beta1 * e.m[i]! + (1 - o.beta1) * u[i]!;
      }
      for (let i = 0; i < n; i++) pk[i] = pk[i]! - o.wd * alpha * pk[i]! - u[i]!;
    }
  }
  return p;
}

test('Adafactor (factored, relative step off) matches an HF-formula reference loop to 1e-12', () => {
  for (const o of [
    { wd: 0, scale: false },
    { beta1: 0.9, wd: 1e-2, scale: true },
  ]) {
    const got = run(
      adafactor({ weightDecay: o.wd, scaleParameter: o.scale, ...(o.beta1 === undefined ? {} : { beta1: o.beta1 }) }),
    );
    const d = maxRelDiff(got, adafactorRef(o));
    assert.ok(d < 1e-12, `max rel diff ${d} for ${JSON.stringify(o)}`);
  }
});

test('Adafactor state: factored rows/cols for 2-D leaves, full v for 1-D', () => {
  const s = adafactor().init(toTree(hostInit()));
  const shapes = Object.fromEntries(treeLeaves(s.slots).map(({ path, leaf }) => [path, leaf.shape]));
  assert.equal(shapes, {
    'v.head.bias': [3],
    'vc.head.weight': [4],
    'vc.prompt': [5],
    'vr.head.weight': [3],
    'vr.prompt': [2],
  });
});

test('optimisers reject mismatched trees and bad learning rates, naming the leaf', () => {
  const params = toTree(hostInit());
  const grads = { ...toTree(hostGrad(0)), prompt: tensor(bk, new Float64Array(3), { shape: [3], dtype: 'f64' }) };
  const o = adamw();
  assert.throws(
    () => o.update(params, grads, o.init(params), 0.1),
    /leaf "prompt" is \[2, 5\] f64 in params but \[3\] f64 in grads/,
  );
  assert.throws(() => o.update(params, params, o.init(params), NaN), /learning rate/);
});

test.run();
