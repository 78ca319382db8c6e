/**
 * Exports a pretraining run folder (pretrain/run.ts) as a Hugging Face folder with a model card,
 * then reloads it with models/bert (loadCheckpoint + loadTokenizer) and checks that the reloaded
 * model gives the same MLM logits as the trained parameters:
 *
 *   node --import ./scripts/register.mjs pretrain/export-cli.ts --run /tmp/pretrain-run --out models/demo-encoder [--which best|checkpoint]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { cpuBackend, prngKey, scope, tensor } from '../core/index.ts';
import { loadCheckpoint as loadHf } from '../models/bert/io/checkpoint.ts';
import { BertModel } from '../models/bert/model.ts';
import { bertConfigFor } from '../models/bert/random-weights.ts';
import { loadTokenizer } from '../models/bert/tokenizer/tokenizer.ts';
import { loadCheckpoint, readStateJson } from '../training/checkpoint.ts';
import { readMetricsLog } from '../training/log.ts';
import { adamw } from '../training/optimizer.ts';
import { exportHf } from './export-hf.ts';
import { heldOutBatches, unigramBaseline } from './mlm.ts';
import { modelCard } from './model-card.ts';
import { bertFromTensors, initParams, paramsToRaw, uploadParams } from './params.ts';

const { values: a } = parseArgs({
  options: {
    run: { type: 'string', default: '/tmp/pretrain-run' },
    out: { type: 'string', default: 'models/demo-encoder' },
    which: { type: 'string', default: 'best' },
    'max-mb': { type: 'string', default: '20' },
    note: { type: 'string', multiple: true },
  },
});

interface RunConfig {
  readonly model: { hidden: number; layers: number; heads: number; intermediate: number; vocab: number };
  readonly seq: number;
  readonly batch: number;
  readonly steps: number;
  readonly weightDecay: number;
  readonly schedule: { baseLr: number; warmupSteps: number };
  readonly backend: string;
  readonly fewglue: boolean;
}

async function main(): Promise<void> {
  const dir = join(a.run, a.which);
  const meta = await readStateJson(dir)();
  if (E.isLeft(meta)) throw new Error(`${meta.left.file}: ${meta.left.detail}`);
  const rc = meta.right.config as RunConfig;
  const cfg = bertConfigFor({
    vocabSize: rc.model.vocab,
    hiddenSize: rc.model.hidden,
    numHiddenLayers: rc.model.layers,
    numAttentionHeads: rc.model.heads,
    intermediateSize: rc.model.intermediate,
    maxPositionEmbeddings: Math.max(512, rc.seq),
  });
  const bk = cpuBackend();
  const fresh = uploadParams(bk, 'f32', initParams(cfg, prngKey(0)));
  const st = await loadCheckpoint(dir, { params: fresh, opt: adamw().init(fresh) })();
  if (E.isLeft(st)) throw new Error(`${st.left.file}: ${st.left.detail}`);
  const params = st.right.params;
  const step = st.right.opt.step;

  const log = readMetricsLog(join(a.run, 'metrics.jsonl'));
  const records = E.isRight(log) ? log.right.records : st.right.metrics;
  const dev = records.filter((r) => r.split === 'dev');
  const atStep = dev.filter((r) => r.step === step).at(-1);
  const first = dev.find((r) => r.step === 0);
  const train = records.filter((r) => r.split === 'train' && r.step <= step);
  const sps = train.map((r) => r['secPerStep']).filter((x): x is number => typeof x === 'number');
  let command = '';
  try {
    command = (JSON.parse(readFileSync(join(a.run, 'run.json'), 'utf8')) as { command?: string }).command ?? '';
  } catch {
    /* run still going */
  }
  if (!command) {
    const m = rc.model;
    command = `--backend ${rc.backend} --hidden ${m.hidden} --layers ${m.layers} --heads ${m.heads} --seq ${rc.seq} --batch ${rc.batch} --steps ${rc.steps} --vocab-size ${m.vocab}`;
  }
  if (!atStep) throw new Error(`${dir}: no held-out evaluation recorded at step ${step}`);

  const raws = await paramsToRaw(params);
  const paramCount = raws.reduce((n, r) => n + r.data.length, 0);
  const sizeOf = 4 * paramCount;
  if (sizeOf > num(a['max-mb']) * 2 ** 20)
    throw new Error(`export: ${(sizeOf / 2 ** 20).toFixed(1)} MiB of weights exceeds --max-mb ${a['max-mb']}`);
  const vocabTxt = readFileSync(join(a.run, 'vocab.txt'), 'utf8');
  const unigram = baseline(a.run, rc, cfg.vocabSize);
  const readme = modelCard({
    cfg,
    paramCount,
    safetensorsBytes: sizeOf,
    command,
    step,
    totalSteps: rc.steps,
    batch: rc.batch,
    seqLen: rc.seq,
    lr: rc.schedule.baseLr,
    warmupSteps: rc.schedule.warmupSteps,
    weightDecay: rc.weightDecay,
    backend: rc.backend,
    secPerStep: sps.length ? sps.reduce((x, y) => x + y, 0) / sps.length : undefined,
    fewglue: rc.fewglue,
    heldOut: { loss: num(atStep.loss), accuracy: num(atStep['acc']), masked: num(atStep['masked']), step },
    initial: first ? { loss: num(first.loss), accuracy: num(first['acc']) } : undefined,
    notes: a.note ?? [],
    ...(unigram ? { unigram } : {}),
    trainLossLast: typeof train.at(-1)?.loss === 'number' ? (train.at(-1)!.loss as number) : undefined,
  });
  const written = await exportHf(a.out, { cfg, params: raws, vocabTxt, modelMaxLength: rc.seq, readme })();
  if (E.isLeft(written)) throw new Error(written.left.message);
  for (const [f, n] of written.right) console.log(`${f}\t${n} bytes`);

  // Reload with the library and compare logits on a sentence.
  const ck = await loadHf(a.out, 'f32')();
  const tk = await loadTokenizer(a.out)();
  if (E.isLeft(ck) || E.isLeft(tk))
    throw new Error(`reload failed: ${JSON.stringify(E.isLeft(ck) ? ck.left : (tk as E.Left<unknown>).left)}`);
  const enc = tk.right.encodeBatch(['The capital of France is [MASK].']);
  const diff = scope(bk, () => {
    const ids = tensor(bk, enc.inputIds, { shape: [enc.batchSize, enc.seqLen], dtype: 'i32' });
    const logits = (m: BertModel) => m.mlmLogits(m.encode({ inputIds: ids }).lastHiddenState).dataSync();
    const x = logits(bertFromTensors(cfg, bk, 'f32', params)),
      y = logits(BertModel.load(ck.right.weights, ck.right.config, bk, 'f32'));
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])));
    return m;
  });
  console.log(
    `reload parity: max |Δlogit| = ${diff}; ${statSync(join(a.out, 'model.safetensors')).size} bytes of weights; held-out loss ${num(atStep.loss).toFixed(4)} acc ${(100 * num(atStep['acc'])).toFixed(2)}% at step ${step}`,
  );
  if (diff !== 0) throw new Error('export: reloaded logits differ from the trained model');
}

/** The unigram baseline on the run's held-out masks (same rows, keys and masking as pretrain/run.ts). */
function baseline(
  run: string,
  rc: RunConfig & { seed?: number },
  V: number,
): { loss: number; accuracy: number } | undefined {
  const seed = rc.seed ?? 0;
  const files = readdirSync(run);
  const pick = (kind: string) =>
    files.find((f) => f.startsWith(`rows-${kind}-`) && f.includes(`-s${seed}-t${rc.seq}-`));
  const [tf, hf] = [pick('train'), pick('heldout')];
  if (!tf || !hf) return undefined;
  const rd = (f: string) => {
    const b = readFileSync(join(run, f));
    return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const specialIds = new Set([0, 1, 2, 3, 4]);
  const masking = {
    vocabSize: V,
    maskId: 4,
    specialIds,
    firstRandomId: 5,
    maxPredictions: Math.ceil(0.15 * 1.25 * rc.batch * rc.seq),
  };
  return unigramBaseline(rd(tf), V, heldOutBatches(rd(hf), rc.batch, rc.seq, seed, masking), specialIds);
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
