/**
 * MLM pretraining of a small BERT encoder, resumable across sessions:
 *
 *   node --import ./scripts/register.mjs pretrain/run.ts --corpus <text folder> --out runs/pretrain --backend wasm \
 *     --hidden 128 --layers 4 --heads 4 --seq 128 --batch 16 --steps 1400 --minutes 80
 *
 * `--until N` stops this session at step N (the schedule still spans `--steps`).
 * The run folder holds vocab.txt, the packed rows, `checkpoint/` (latest, training/checkpoint.ts),
 * `best/` (lowest held-out MLM loss), metrics.jsonl, curve.svg and run.json. Running the same
 * command again resumes from `checkpoint/`. `--minutes` (or SIGINT/SIGTERM) stops cleanly after
 * the current step and saves.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { prngKey, type Backend } from '../core/index.ts';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import { bertConfigFor } from '../models/bert/random-weights.ts';
import { ensureDir } from '../training/atomic-file.ts';
import { loadCheckpoint, saveCheckpoint, type TrainState } from '../training/checkpoint.ts';
import { openMetricsLog, type MetricInput, type MetricRecord } from '../training/log.ts';
import { adamw, noDecayOnBiasAndNorm } from '../training/optimizer.ts';
import { lrAt, validateSchedule, type Schedule } from '../training/schedule.ts';
import { evaluateMlm, heldOutBatches, maskTokens, stepKey, trainStep, type MlmContext } from './mlm.ts';
import { initParams, uploadParams, type EncoderParams } from './params.ts';
import { prepare } from './prepare.ts';
import { writeRunOutputs } from './run-outputs.ts';
import { permutation } from './corpus.ts';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/pretrain' },
    /** A folder with the text files of `--files` (see pretrain/CORPUS.md); required. */
    corpus: { type: 'string' },
    files: { type: 'string', default: 'wikipedia_en.txt,gutenberg_books.txt' },
    until: { type: 'string' },
    fewglue: { type: 'string', default: BUNDLED_FEWGLUE },
    'no-fewglue': { type: 'boolean', default: false },
    backend: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    'vocab-size': { type: 'string', default: '8000' },
    hidden: { type: 'string', default: '128' },
    layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '4' },
    intermediate: { type: 'string' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '1400' },
    lr: { type: 'string', default: '1e-3' },
    warmup: { type: 'string' },
    'weight-decay': { type: 'string', default: '0.01' },
    minutes: { type: 'string' },
    'eval-every': { type: 'string', default: '100' },
    'eval-rows': { type: 'string', default: '64' },
    'log-every': { type: 'string', default: '10' },
    'ckpt-minutes': { type: 'string', default: '5' },
    'max-rows': { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
const num = (k: keyof typeof a): number => {
  const v = Number(a[k]);
  if (!Number.isFinite(v)) throw new Error(`pretrain/run: --${k} must be a number, got ${String(a[k])}`);
  return v;
};
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function makeBackend(name: string): Promise<Backend> {
  const { cpuBackend } = await import('../core/index.ts');
  if (name === 'cpu') return cpuBackend();
  if (name === 'wasm') {
    const { createWasmBackend } = await import('../core/backend/wasm/index.ts');
    return createWasmBackend(a.threads ? { threads: num('threads') } : {});
  }
  if (name === 'webgpu') {
    const { createWebGpuBackend } = await import('../core/backend/webgpu/index.ts');
    return await createWebGpuBackend();
  }
  throw new Error(`pretrain/run: --backend must be cpu, wasm or webgpu, got ${name}`);
}

async function main(): Promise<void> {
  const corpus = a.corpus;
  if (corpus === undefined) {
    console.error(
      'pretrain/run: --corpus <folder> is required (the text files of --files; pretrain/CORPUS.md says what the demo encoder used)',
    );
    process.exit(2);
  }
  const out = a.out;
  ensureDir(out);
  const hidden = num('hidden'),
    seq = num('seq'),
    B = num('batch'),
    steps = num('steps'),
    seed = num('seed');
  const evalEvery = num('eval-every'),
    logEvery = num('log-every');
  const deadline = a.minutes ? Date.now() + num('minutes') * 60_000 : Infinity;
  const prep = prepare({
    out,
    files: a.files.split(',').map((f) => join(corpus, f)),
    ...(a['no-fewglue'] ? {} : { fewglueRoot: a.fewglue }),
    vocabSize: num('vocab-size'),
    seqLen: seq,
    seed,
    maxTrainRows: a['max-rows'] ? num('max-rows') : Math.ceil(steps * B * 1.05),
    heldOutRows: num('eval-rows'),
    log,
  });
  if (E.isLeft(prep)) throw new Error(prep.left);
  const { tok, trainRows, heldOutRows } = prep.right;
  const nRows = trainRows.length / seq;

  const cfg = bertConfigFor({
    vocabSize: tok.vocabSize,
    hiddenSize: hidden,
    numHiddenLayers: num('layers'),
    numAttentionHeads: num('heads'),
    intermediateSize: a.intermediate ? num('intermediate') : 4 * hidden,
    maxPositionEmbeddings: Math.max(512, seq),
  });
  const bk = await makeBackend(a.backend);
  const ctx: MlmContext = { cfg, bk, dtype: 'f32' };
  const specialIds = new Set([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]);
  // Fixed prediction count per batch (~1.25 × the expected 15 %): constant shapes every step.
  const masking = {
    vocabSize: tok.vocabSize,
    maskId: tok.maskId,
    specialIds,
    firstRandomId: 5,
    maxPredictions: Math.ceil(0.15 * 1.25 * B * seq),
  };
  const optimizer = adamw({ weightDecay: num('weight-decay'), decayMask: noDecayOnBiasAndNorm, inPlace: true });
  const schedule: Schedule = validateSchedule({
    kind: 'linear',
    baseLr: num('lr'),
    warmupSteps: a.warmup ? num('warmup') : Math.round(0.06 * steps),
    totalSteps: steps,
  });
  const runConfig = {
    model: {
      hidden,
      layers: cfg.numHiddenLayers,
      heads: cfg.numAttentionHeads,
      intermediate: cfg.intermediateSize,
      vocab: cfg.vocabSize,
    },
    seq,
    batch: B,
    steps,
    schedule,
    weightDecay: num('weight-decay'),
    seed,
    backend: a.backend,
    fewglue: !a['no-fewglue'],
  };

  // Held-out batches: fixed masks (key independent of training steps).
  const evalBatches = heldOutBatches(heldOutRows, B, seq, seed, masking);

  const fresh = uploadParams(bk, 'f32', initParams(cfg, prngKey(seed)));
  const template = { params: fresh, opt: optimizer.init(fresh) };
  let state: TrainState<EncoderParams, 'm' | 'v'>;
  const ckptDir = join(out, 'checkpoint'),
    bestDir = join(out, 'best');
  if (existsSync(join(ckptDir, 'state.json'))) {
    const loaded = await loadCheckpoint(ckptDir, template)();
    if (E.isLeft(loaded)) throw new Error(`${loaded.left.file}: ${loaded.left.detail}`);
    state = { ...loaded.right, config: runConfig };
    log(`resumed from ${ckptDir} at step ${state.opt.step}`);
  } else {
    state = {
      params: fresh,
      opt: template.opt,
      scheduleStep: 0,
      key: prngKey(seed),
      data: { epoch: 0, cursor: 0 },
      config: runConfig,
      metrics: [],
    };
  }
  // Appended a whole line at a time (training/log.ts), not replaced: a crash costs at most the torn
  // last line, which the reader skips, and the lines before it stay as they were.
  const metricsLog = openMetricsLog(join(out, 'metrics.jsonl'));
  const metrics: MetricRecord[] = [...state.metrics];
  const record = (r: MetricInput) => {
    metrics.push(metricsLog.append(r));
  };
  let best = Math.min(
    Infinity,
    ...metrics.filter((m) => m.split === 'dev' && typeof m.loss === 'number').map((m) => m.loss as number),
  );

  let stop = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      log(`${sig}: stopping after this step`);
      stop = true;
    });
  const save = async (dir: string) => {
    const r = await saveCheckpoint(dir, { ...state, metrics })();
    if (E.isLeft(r)) log(r.left.message);
  };
  const evaluate = async (step: number) => {
    const ev = evaluateMlm(ctx, state.params, evalBatches);
    record({ step, split: 'dev', loss: ev.loss, acc: ev.accuracy, masked: ev.masked });
    log(
      `step ${step}: held-out MLM loss ${ev.loss.toFixed(4)}, masked-token accuracy ${(100 * ev.accuracy).toFixed(2)}% (${ev.masked} tokens)`,
    );
    if (ev.loss < best) {
      best = ev.loss;
      await save(bestDir);
    }
  };

  log(
    `model: ${JSON.stringify(runConfig.model)}; ${nRows} train rows; backend ${bk.name}; from step ${state.opt.step} to ${steps}`,
  );
  if (state.opt.step === 0) await evaluate(0);
  let lastSave = Date.now(),
    tWindow = performance.now(),
    lossWindow = 0,
    nWindow = 0;
  let perm = permutation(nRows, seed + state.data.epoch);
  const until = a.until ? Math.min(steps, num('until')) : steps;
  while (state.opt.step < until && !stop && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r)); // let SIGINT/SIGTERM handlers run between steps
    const s = state.opt.step;
    if (state.data.cursor + B > nRows) {
      state = { ...state, data: { epoch: state.data.epoch + 1, cursor: 0 } };
      perm = permutation(nRows, seed + state.data.epoch);
    }
    const ids = new Int32Array(B * seq);
    for (let i = 0; i < B; i++) {
      const r = perm[state.data.cursor + i]!;
      ids.set(trainRows.subarray(r * seq, (r + 1) * seq), i * seq);
    }
    const batch = maskTokens(ids, B, seq, stepKey(state.key, s), masking);
    const lr = lrAt(schedule, s);
    const res = trainStep(ctx, optimizer, state.params, state.opt, batch, lr);
    if (!Number.isFinite(res.loss))
      throw new Error(`pretrain/run: loss is ${res.loss} at step ${s}; stopping (last checkpoint in ${ckptDir})`);
    state = {
      ...state,
      params: res.params,
      opt: res.opt,
      scheduleStep: s + 1,
      data: { epoch: state.data.epoch, cursor: state.data.cursor + B },
    };
    lossWindow += res.loss;
    nWindow++;
    if ((s + 1) % logEvery === 0) {
      const dt = (performance.now() - tWindow) / 1000 / nWindow;
      record({
        step: s + 1,
        split: 'train',
        loss: lossWindow / nWindow,
        lr,
        gradNorm: res.gradNorm,
        secPerStep: dt,
        tokens: (s + 1) * B * seq,
      });
      log(
        `step ${s + 1}/${steps}: loss ${(lossWindow / nWindow).toFixed(4)} lr ${lr.toExponential(2)} |g| ${res.gradNorm.toFixed(3)} ${dt.toFixed(2)} s/step`,
      );
      tWindow = performance.now();
      lossWindow = 0;
      nWindow = 0;
    }
    if ((s + 1) % evalEvery === 0) await evaluate(s + 1);
    if (Date.now() - lastSave > num('ckpt-minutes') * 60_000) {
      await save(ckptDir);
      lastSave = Date.now();
      log(`checkpoint saved at step ${s + 1}`);
    }
  }
  const last = metrics.at(-1);
  if (!(last && last.split === 'dev' && last.step === state.opt.step)) await evaluate(state.opt.step);
  await save(ckptDir);
  writeRunOutputs(out, metrics, {
    config: runConfig,
    step: state.opt.step,
    tokensSeen: state.opt.step * B * seq,
    trainRows: nRows,
    heldOutRows: heldOutRows.length / seq,
    passages: prep.right.passages,
    bestHeldOutLoss: best,
    command: process.argv.slice(2).join(' '),
  });
  log(`stopped at step ${state.opt.step}; checkpoint in ${ckptDir}, best in ${bestDir}`);
  const d = (bk as { dispose?: unknown }).dispose;
  if (typeof d === 'function') await (d as () => unknown).call(bk);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
