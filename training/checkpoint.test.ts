import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  cast,
  cpuBackend,
  crossEntropy,
  dropout,
  foldIn,
  linear,
  normalArray,
  prngKey,
  randomNormal,
  tensor,
  treeLeaves,
  uniformArray,
  valueAndGrad,
  add,
  type Backend,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import { loadCheckpoint, saveCheckpoint, STATE_JSON, STATE_TENSORS, type TrainState } from './checkpoint.ts';
import { clipByGlobalNorm } from './clip.ts';
import { adamw, noDecayOnBiasAndNorm, type Optimizer } from './optimizer.ts';
import { lrAt, type Schedule } from './schedule.ts';
import { disposeTree } from './tree-util.ts';

// ---- a toy run: logistic regression with a learned f64 "prompt" offset, dropout, AdamW, warm-up, clipping ----
const N = 64,
  D = 6,
  B = 8,
  SEED = 1234;
const config = {
  seed: SEED,
  batch: B,
  dropout: 0.1,
  maxNorm: 0.5,
  schedule: { kind: 'linear', baseLr: 0.05, warmupSteps: 4, totalSteps: 20 } as Schedule,
};
type Params = { head: { weight: Tensor; bias: Tensor }; prompt: Tensor };
type State = TrainState<Params, 'm' | 'v'>;

function makeData(bk: Backend) {
  const x = normalArray(prngKey(SEED + 1), N * D);
  const w = normalArray(prngKey(SEED + 2), D);
  const y = Int32Array.from({ length: N }, (_, i) =>
    x.subarray(i * D, i * D + D).reduce((a, v, j) => a + v * w[j]!, 0) > 0 ? 1 : 0,
  );
  return { bk, x: Float32Array.from(x), y };
}
type Data = ReturnType<typeof makeData>;

const optimizer = (): Optimizer<'m' | 'v'> => adamw({ weightDecay: 0.01, decayMask: noDecayOnBiasAndNorm });

function initState(bk: Backend): State {
  const root = prngKey(SEED);
  const params: Params = {
    head: { weight: randomNormal(bk, foldIn(root, 1), [2, D], 0, 0.1), bias: tensor(bk, [0, 0]) },
    prompt: randomNormal(bk, foldIn(root, 2), [D], 0, 0.1, { dtype: 'f64' }),
  };
  return {
    params,
    opt: optimizer().init(params),
    scheduleStep: 0,
    key: root,
    data: { epoch: 0, cursor: 0 },
    config,
    metrics: [],
  };
}

function permutation(key: PRNGKey, epoch: number): Int32Array {
  const p = Int32Array.from({ length: N }, (_, i) => i);
  const u = uniformArray(foldIn(foldIn(key, 0x5eed), epoch), N);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(u[i]! * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function lossFn(p: Params, x: Tensor, y: Tensor, key: PRNGKey): Tensor {
  const h = dropout(add(x, cast(p.prompt, 'f32')), key, config.dropout);
  return crossEntropy(linear(h, p.head.weight, p.head.bias), y);
}
const vg = valueAndGrad(lossFn);

function trainStep(s: State, d: Data): { state: State; loss: number } {
  const idx = permutation(s.key, s.data.epoch).subarray(s.data.cursor, s.data.cursor + B);
  const xb = new Float32Array(B * D);
  idx.forEach((r, i) => xb.set(d.x.subarray(r * D, r * D + D), i * D));
  const x = tensor(d.bk, xb, { shape: [B, D] }),
    y = tensor(
      d.bk,
      Int32Array.from(idx, (r) => d.y[r]!),
      { dtype: 'i32' },
    );
  const [lossT, grads] = vg(s.params, x, y, foldIn(s.key, s.opt.step));
  const { grads: clipped, norm } = clipByGlobalNorm(grads, config.maxNorm);
  const lr = lrAt(config.schedule, s.scheduleStep);
  const next = optimizer().update(s.params, clipped, s.opt, lr);
  const loss = lossT.itemSync();
  disposeTree([s.params, s.opt.slots, grads, clipped, norm, lossT, x, y]);
  const cursor = s.data.cursor + B;
  const data = cursor >= N ? { epoch: s.data.epoch + 1, cursor: 0 } : { epoch: s.data.epoch, cursor };
  const metrics = [...s.metrics, { step: next.state.step, split: 'train', loss, lr, time: next.state.step }];
  return {
    state: { ...s, params: next.params, opt: next.state, scheduleStep: s.scheduleStep + 1, data, metrics },
    loss,
  };
}

function runSteps(s: State, d: Data, n: number): { state: State; losses: number[] } {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = trainStep(s, d);
    s = r.state;
    losses.push(r.loss);
  }
  return { state: s, losses };
}

const bytesOf = (tree: unknown) =>
  treeLeaves(tree).map(({ path, leaf }) => [path, leaf.dtype, Buffer.from(leaf.dataSync().buffer).toString('hex')]);
const tmp = () => mkdtempSync(join(tmpdir(), 'promptgrad-ckpt-'));
const must = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(String((e.left as { message?: string }).message ?? e.left));
  return e.right;
};

test('20 straight steps = 10 steps → checkpoint → reload on a fresh backend → 10 steps, bit for bit', async () => {
  const bk0 = cpuBackend();
  const straight = runSteps(initState(bk0), makeData(bk0), 20);

  const bk1 = cpuBackend();
  const first = runSteps(initState(bk1), makeData(bk1), 10);
  const dir = join(tmp(), 'ckpt');
  must(await saveCheckpoint(dir, first.state)());
  assert.equal(readdirSync(dir).sort(), [STATE_JSON, STATE_TENSORS]);

  const bk2 = cpuBackend(); // nothing from the first run survives but the folder
  const tpl = initState(bk2);
  const resumed = must(await loadCheckpoint(dir, { params: tpl.params, opt: tpl.opt })());
  assert.is(resumed.params.prompt.dtype, 'f64');
  assert.is(resumed.params.head.weight.dtype, 'f32');
  assert.equal(resumed.data, { epoch: 1, cursor: 16 });
  const second = runSteps(resumed, makeData(bk2), 10);

  assert.equal([...first.losses, ...second.losses], straight.losses);
  assert.equal(bytesOf(second.state.params), bytesOf(straight.state.params));
  assert.equal(bytesOf(second.state.opt.slots), bytesOf(straight.state.opt.slots));
  assert.is(second.state.opt.step, 20);
  assert.is(second.state.scheduleStep, straight.state.scheduleStep);
  assert.equal(second.state.data, straight.state.data);
  assert.equal(second.state.key, straight.state.key);
  assert.equal(second.state.metrics, straight.state.metrics);
  assert.equal(second.state.config, config);
  assert.ok(
    straight.losses[19]! < straight.losses[0]!,
    `loss goes down: ${straight.losses[0]} → ${straight.losses[19]}`,
  );
});

test('a write that fails half-way leaves the previous checkpoint intact and no tmp folder', async () => {
  const bk = cpuBackend();
  const d = makeData(bk);
  const ten = runSteps(initState(bk), d, 10).state;
  const root = tmp(),
    dir = join(root, 'ckpt');
  must(await saveCheckpoint(dir, ten)());
  const before = readFileSync(join(dir, STATE_TENSORS));
  const tenBytes = bytesOf(ten.params);
  const later = runSteps(ten, d, 3).state;
  const failing = {
    writeFile(path: string, bytes: Uint8Array): Promise<void> {
      writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
      return Promise.reject(new Error('disk full (injected)'));
    },
  };
  const r = await saveCheckpoint(dir, later, { writer: failing })();
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) assert.match(r.left.message, /disk full \(injected\).*previous checkpoint is intact/);
  assert.equal(readdirSync(root), ['ckpt'], 'no .tmp or .old left behind');
  assert.ok(readFileSync(join(dir, STATE_TENSORS)).equals(before));
  const tpl = initState(cpuBackend());
  const back = must(await loadCheckpoint(dir, { params: tpl.params, opt: tpl.opt })());
  assert.is(back.opt.step, 10);
  assert.equal(bytesOf(back.params), tenBytes);
});

test('a crash between the two renames is recovered from <dir>.old, and the next save cleans up', async () => {
  const bk = cpuBackend();
  const s = runSteps(initState(bk), makeData(bk), 2).state;
  const root = tmp(),
    dir = join(root, 'ckpt');
  must(await saveCheckpoint(dir, s)());
  renameSync(dir, `${dir}.old`); // as if the process died right after moving the old folder aside
  const tpl = initState(cpuBackend());
  assert.is(must(await loadCheckpoint(dir, { params: tpl.params, opt: tpl.opt })()).opt.step, 2);
  must(await saveCheckpoint(dir, runSteps(s, makeData(bk), 1).state)());
  assert.equal(readdirSync(root), ['ckpt']);
  assert.is(must(await loadCheckpoint(dir, { params: tpl.params, opt: tpl.opt })()).opt.step, 3);
});

test('loading names the file and every tensor that does not match the template', async () => {
  const bk = cpuBackend();
  const s = initState(bk);
  const dir = join(tmp(), 'ckpt');
  must(await saveCheckpoint(dir, s)());
  const wrong = {
    head: { weight: randomNormal(bk, prngKey(1), [3, D]), bias: tensor(bk, [0, 0], { dtype: 'f64' }) },
    prompt: s.params.prompt,
    extra: tensor(bk, [1]),
  };
  const opt = optimizer().init(wrong);
  const r = await loadCheckpoint(dir, { params: wrong, opt })();
  assert.ok(E.isLeft(r));
  const msg = E.isLeft(r) ? r.left.message : '';
  assert.ok(msg.startsWith(join(dir, STATE_TENSORS)), msg);
  assert.match(msg, /tensor "params\.head\.weight": shape \[2, 6\], expected \[3, 6\]/);
  assert.match(msg, /tensor "params\.head\.bias": dtype F32, expected F64/);
  assert.match(msg, /missing tensor "params\.extra" \[1\] f32/);
  assert.match(msg, /missing tensor "opt\.m\.extra"/);
});

test('a tensors file from another save, a bad state.json and a missing folder are refused', async () => {
  const bk = cpuBackend();
  const a = initState(bk),
    b = runSteps(initState(bk), makeData(bk), 1).state;
  const root = tmp();
  must(await saveCheckpoint(join(root, 'a'), a)());
  must(await saveCheckpoint(join(root, 'b'), b)());
  writeFileSync(join(root, 'a', STATE_TENSORS), readFileSync(join(root, 'b', STATE_TENSORS)));
  const tpl = { params: a.params, opt: a.opt };
  const mixed = await loadCheckpoint(join(root, 'a'), tpl)();
  assert.ok(E.isLeft(mixed) && /come from different saves/.test(mixed.left.message));
  const j = JSON.parse(readFileSync(join(root, 'b', STATE_JSON), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(root, 'b', STATE_JSON), JSON.stringify({ ...j, key: [1, -2] }));
  const badJson = await loadCheckpoint(join(root, 'b'), tpl)();
  assert.ok(
    E.isLeft(badJson) && badJson.left.file === join(root, 'b', STATE_JSON) && /key/.test(badJson.left.message),
    E.isLeft(badJson) ? badJson.left.message : '',
  );
  writeFileSync(join(root, 'b', 'notes.txt'), 'mine');
  const foreign = await saveCheckpoint(join(root, 'b'), a)();
  assert.ok(E.isLeft(foreign) && /refusing to replace .*notes\.txt/.test(foreign.left.message));
  const none = await loadCheckpoint(join(root, 'nope'), tpl)();
  assert.ok(E.isLeft(none) && none.left.kind === 'io');
  rmSync(root, { recursive: true, force: true });
  assert.not.ok(existsSync(root));
});

test.run();
