import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { loadCheckpoint, normaliseName } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { RawTensor } from './raw-tensor.ts';
import { parseSafetensorsOrThrow, serializeSafetensors } from './safetensors.ts';
import { torchSaveTensors } from '../testing/torch-save.ts';

const FIX = fileURLToPath(new URL('../../../fixtures/hf-reference/', import.meta.url));
const bertTensors = (): readonly RawTensor[] =>
  parseSafetensorsOrThrow(new Uint8Array(readFileSync(join(FIX, 'bert-tiny/model.safetensors'))), 'm').tensors;

async function ok(p: Promise<E.Either<{ message: string }, Checkpoint>>): Promise<Checkpoint> {
  const r = await p;
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}
async function fails(p: Promise<E.Either<{ message: string }, Checkpoint>>): Promise<string> {
  const r = await p;
  assert.ok(E.isLeft(r), 'expected an error');
  return (r as E.Left<{ message: string }>).left.message;
}
/** A temp folder with bert-tiny's config.json and the given files. */
function folder(files: Record<string, Uint8Array | string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-ckpt-'));
  copyFileSync(join(FIX, 'bert-tiny/config.json'), join(dir, 'config.json'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('normaliseName', () => {
  assert.is(
    normaliseName('bert.encoder.layer.0.attention.self.query.weight'),
    'encoder.layer.0.attention.self.query.weight',
  );
  assert.is(normaliseName('roberta.embeddings.LayerNorm.weight'), 'embeddings.LayerNorm.weight');
  assert.is(normaliseName('bert.embeddings.LayerNorm.gamma'), 'embeddings.LayerNorm.weight');
  assert.is(normaliseName('cls.predictions.transform.LayerNorm.beta'), 'cls.predictions.transform.LayerNorm.bias');
  assert.is(normaliseName('lm_head.dense.weight'), 'lm_head.dense.weight');
  assert.is(normaliseName('cls.predictions.bias'), 'cls.predictions.bias');
});

test('bert-tiny fixture: normalised names, shapes, notes', async () => {
  const c = await ok(loadCheckpoint(join(FIX, 'bert-tiny'), 'f32')());
  assert.is(c.format, 'safetensors');
  assert.equal(c.files, ['model.safetensors']);
  assert.is(c.tensors.size, 42);
  assert.equal(c.weights.get('embeddings.word_embeddings.weight', [800, 32]).dtype, 'f32');
  assert.ok(c.weights.at('encoder').at('layer').at(1).has('attention.self.query.weight'));
  assert.ok(c.tensors.has('cls.predictions.transform.dense.weight'));
  assert.ok(![...c.tensors.keys()].some((n) => n.startsWith('bert.')));
  assert.ok(
    c.notes.some((n) => /stripped .* 37 tensor names/.test(n)),
    c.notes.join('\n'),
  );
  assert.ok(c.notes.some((n) => /no pooler/.test(n)));
  assert.ok(c.notes.some((n) => /cls\.predictions\.decoder\.weight absent: tied/.test(n)));
  assert.ok(!c.notes.some((n) => /not used/.test(n)), c.notes.join('\n'));
});

test('roberta-tiny fixture in f64', async () => {
  const c = await ok(loadCheckpoint(join(FIX, 'roberta-tiny'), 'f64')());
  assert.is(c.config.modelType, 'roberta');
  const pos = c.weights.get('embeddings.position_embeddings.weight', [66, 32]);
  assert.ok(pos.data instanceof Float64Array);
  assert.equal(c.weights.get('embeddings.token_type_embeddings.weight', [1, 32]).shape, [1, 32]);
  assert.ok(c.tensors.has('lm_head.layer_norm.weight'));
  assert.ok(c.notes.some((n) => /lm_head\.decoder\.weight absent/.test(n)));
});

test('sharded safetensors with an index', async () => {
  const ts = bertTensors();
  const a = ts.slice(0, 20);
  const b = ts.slice(20);
  const weightMap: Record<string, string> = Object.fromEntries([
    ...a.map((x): [string, string] => [x.name, 'model-00001-of-00002.safetensors']),
    ...b.map((x): [string, string] => [x.name, 'model-00002-of-00002.safetensors']),
  ]);
  await folder(
    {
      'model-00001-of-00002.safetensors': serializeSafetensors(a),
      'model-00002-of-00002.safetensors': serializeSafetensors(b),
      'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 1 }, weight_map: weightMap }),
    },
    async (dir) => {
      const c = await ok(loadCheckpoint(dir)());
      assert.is(c.format, 'safetensors-sharded');
      assert.is(c.tensors.size, 42);
      assert.equal(c.files, [
        'model.safetensors.index.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
      ]);
    },
  );
  await folder(
    {
      'model-00001-of-00001.safetensors': serializeSafetensors(a),
      'model.safetensors.index.json': JSON.stringify({
        weight_map: {
          ...Object.fromEntries(a.map((x) => [x.name, 'model-00001-of-00001.safetensors'])),
          extra: 'model-00001-of-00001.safetensors',
        },
      }),
    },
    async (dir) => {
      assert.match(
        await fails(loadCheckpoint(dir)()),
        /model-00001-of-00001\.safetensors: model\.safetensors\.index\.json places tensor "extra" in this shard, which lacks it/,
      );
    },
  );
  await folder(
    { 'model.safetensors.index.json': JSON.stringify({ weight_map: { x: '../etc/passwd' } }) },
    async (dir) => {
      assert.match(await fails(loadCheckpoint(dir)()), /shard name "\.\.\/etc\/passwd" must be a plain file name/);
    },
  );
  await folder({ 'model.safetensors.index.json': '{"weight_map": [1]}' }, async (dir) => {
    assert.match(await fails(loadCheckpoint(dir)()), /index\.json: field "weight_map": expected an object/);
  });
});

test('pytorch_model.bin with legacy names and an extra int64 buffer; sharded bin', async () => {
  const ts = bertTensors().map((x) =>
    x.name.endsWith('LayerNorm.weight')
      ? { ...x, name: x.name.replace(/weight$/, 'gamma') }
      : x.name.endsWith('LayerNorm.bias')
        ? { ...x, name: x.name.replace(/bias$/, 'beta') }
        : x,
  );
  const posIds: RawTensor = {
    name: 'bert.embeddings.position_ids',
    dtype: 'i32',
    shape: [1, 64],
    data: Int32Array.from({ length: 64 }, (_, i) => i),
  };
  await folder(
    { 'pytorch_model.bin': torchSaveTensors([...ts, posIds], { archiveName: 'pytorch_model' }) },
    async (dir) => {
      const c = await ok(loadCheckpoint(dir, 'f64')());
      assert.is(c.format, 'pytorch-bin');
      assert.ok(c.tensors.has('embeddings.LayerNorm.weight') && c.tensors.has('encoder.layer.1.output.LayerNorm.bias'));
      assert.ok(
        c.notes.some((n) => /renamed 12 legacy gamma\/beta/.test(n)),
        c.notes.join('\n'),
      );
      assert.ok(
        c.notes.some((n) => /1 tensors not used .*: embeddings\.position_ids/.test(n)),
        c.notes.join('\n'),
      );
      assert.equal(Array.from(c.tensors.get('embeddings.position_ids')!.data.subarray(0, 3)), [0, 1, 2]);
      const ref = bertTensors().find((x) => x.name === 'bert.embeddings.LayerNorm.weight')!;
      assert.equal(Array.from(c.weights.get('embeddings.LayerNorm.weight', [32]).data), Array.from(ref.data));
    },
  );
  const all = bertTensors();
  await folder(
    {
      'pytorch_model-00001-of-00002.bin': torchSaveTensors(all.slice(0, 10)),
      'pytorch_model-00002-of-00002.bin': torchSaveTensors(all.slice(10)),
      'pytorch_model.bin.index.json': JSON.stringify({
        weight_map: Object.fromEntries(all.map((x, i) => [x.name, `pytorch_model-0000${i < 10 ? 1 : 2}-of-00002.bin`])),
      }),
    },
    async (dir) => {
      const c = await ok(loadCheckpoint(dir)());
      assert.is(c.format, 'pytorch-bin-sharded');
      assert.is(c.tensors.size, 42);
    },
  );
});

test('errors: no weights, bad config, mismatched shapes, colliding names', async () => {
  await folder({}, async (dir) => {
    assert.match(await fails(loadCheckpoint(dir)()), /no weights found \(looked for model\.safetensors, /);
  });
  const dir = mkdtempSync(join(tmpdir(), 'pg-ckpt-'));
  try {
    assert.match(await fails(loadCheckpoint(dir)()), /config\.json: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ts = bertTensors();
  await folder(
    { 'model.safetensors': serializeSafetensors(ts.filter((x) => !x.name.includes('layer.1.'))) },
    async (d) => {
      const m = await fails(loadCheckpoint(d)());
      assert.match(m, /model\.safetensors: does not match config\.json: 16 missing: encoder\.layer\.1\./);
      const c = await ok(loadCheckpoint(d, 'f32', { validate: false })());
      assert.is(c.tensors.size, 26);
    },
  );
  await folder(
    { 'model.safetensors': serializeSafetensors([...ts, { ...ts[0]!, name: ts[0]!.name.replace(/^bert\./, '') }]) },
    async (d) => {
      assert.match(
        await fails(loadCheckpoint(d)()),
        /tensors "bert\.embeddings\.LayerNorm\.bias" and "embeddings\.LayerNorm\.bias" both normalise to "embeddings\.LayerNorm\.bias"/,
      );
    },
  );
  await folder({ 'model.safetensors': new Uint8Array(3), 'pytorch_model.bin': new Uint8Array(3) }, async (d) => {
    assert.match(await fails(loadCheckpoint(d)()), /model\.safetensors: file is 3 bytes/);
  });
});

test.run();
