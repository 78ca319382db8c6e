/** PEFT adapter export/import on the API: config fields as PEFT writes them, bit-identical round trips, projection refusal. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, prngKey, splitKey, type Tensor } from '../core/index.ts';
import { loadFixtureModel, FIXTURE_DIR } from '../proofs-tests/prompting/support.ts';
import { randomPooler } from '../training/task-model.ts';
import { initClassifier } from './heads.ts';
import { exportPeftAdapter, importPeftAdapter, storedBaseModelName, type AdapterMethod } from './peft-adapter.ts';
import { initPrefix, prefixTable } from './prefix.ts';
import { initSoftPrompt } from './soft-prompt.ts';

const reference = JSON.parse(readFileSync(new URL('reference.json', FIXTURE_DIR), 'utf8')) as Record<
  string,
  { config: Record<string, unknown> }
>;

const sameBits = (label: string, a: Tensor, b: Tensor) => {
  assert.equal([...a.shape], [...b.shape], `${label}: shape`);
  assert.is(a.dtype, b.dtype, `${label}: dtype`);
  const x = a.dataSync(),
    y = b.dataSync();
  for (let i = 0; i < x.length; i++)
    if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: ${x[i]} vs ${y[i]}`);
};

const withDir = (f: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-adapter-'));
  try {
    f(join(dir, 'adapter'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** PEFT's config for the same model and method (reference.json, written by PEFT), as save_pretrained stores it. */
const savedReference = (k: string, overrides: Record<string, unknown>) => ({
  ...reference[k]!.config,
  inference_mode: true,
  ...overrides,
});

for (const dtype of ['f32', 'f64'] as const) {
  test(`prompt tuning + classifier round trip (${dtype}): PEFT's fields, the pooler carried, bit-identical tensors`, () =>
    withDir((dir) => {
      const bk = cpuBackend();
      const model = loadFixtureModel(bk, dtype);
      const [k1, k2, k3] = splitKey(prngKey(3), 3);
      const params = initSoftPrompt(model, { numVirtualTokens: 5, init: { kind: 'random' } }, k1!);
      const classifier = initClassifier(model, 2, k2!);
      const pooler = randomPooler(model, k3!);
      const cfg = exportPeftAdapter(
        dir,
        model,
        { kind: 'prompt', params },
        { baseModelNameOrPath: 'bert-tiny', classifier, pooler, init: { kind: 'random' } },
      );
      // bert-tiny is an MLM checkpoint: no pooler, so the adapter carries the one the head was trained through.
      assert.equal(
        cfg,
        savedReference('peft.prompt', { modules_to_save: ['pooler', 'classifier', 'score', 'classifier', 'score'] }),
      );
      assert.equal(
        readdirSync(dir).sort(),
        ['README.md', 'adapter_config.json', 'adapter_model.safetensors'],
        'no tmp files left',
      );
      const back = importPeftAdapter(dir, model);
      assert.equal(back.config, JSON.parse(JSON.stringify(cfg)));
      if (back.method.kind !== 'prompt' || !back.classifier || !back.pooler) throw new Error('prompt, head, pooler');
      assert.ok(back.poolerFromAdapter);
      sameBits('prompt_embeddings', back.method.params.promptEmbeddings, params.promptEmbeddings);
      sameBits('classifier.weight', back.classifier.weight, classifier.weight);
      sameBits('classifier.bias', back.classifier.bias, classifier.bias);
      sameBits('pooler.weight', back.pooler.weight as Tensor, pooler.weight as Tensor);
      sameBits('pooler.bias', back.pooler.bias, pooler.bias);
    }));
}

test('prefix round trip without projection: prompt_embeddings [m, 2·L·d], config as PEFT', () =>
  withDir((dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f32');
    const params = initPrefix(model, { numVirtualTokens: 4 }, prngKey(5));
    const cfg = exportPeftAdapter(
      dir,
      model,
      { kind: 'prefix', params },
      {
        baseModelNameOrPath: 'bert-tiny',
        classifier: initClassifier(model, 2, prngKey(6)),
        pooler: randomPooler(model, prngKey(8)),
      },
    );
    assert.equal(
      cfg,
      savedReference('peft.prefix', { modules_to_save: ['pooler', 'classifier', 'score', 'classifier', 'score'] }),
    );
    const back = importPeftAdapter(dir, model);
    if (back.method.kind !== 'prefix') throw new Error('kind');
    assert.equal([...back.method.params.embedding.shape], [4, 2 * 2 * 32]);
    sameBits('prompt_embeddings', back.method.params.embedding, params.embedding);
  }));

test('projected prefix: saves the projected table; import refuses to invert unless asked', () =>
  withDir((dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f64');
    const params = initPrefix(model, { numVirtualTokens: 3, projectionHiddenSize: 16 }, prngKey(7));
    const method: AdapterMethod = { kind: 'prefix', params };
    const cfg = exportPeftAdapter(dir, model, method, { baseModelNameOrPath: 'bert-tiny' });
    assert.is(cfg.task_type, 'FEATURE_EXTRACTION', 'no head: the prompt alone');
    assert.is(cfg.peft_type === 'PREFIX_TUNING' && cfg.prefix_projection && cfg.encoder_hidden_size === 16, true);
    assert.throws(() => importPeftAdapter(dir, model), /cannot be inverted/);
    const table = importPeftAdapter(dir, model, { projected: 'as-table' });
    if (table.method.kind !== 'prefix') throw new Error('kind');
    sameBits('projected table', table.method.params.embedding, prefixTable(params));
    // With the MLP saved too, the import is lossless.
    exportPeftAdapter(dir, model, method, { baseModelNameOrPath: 'bert-tiny', saveProjectionWeights: true });
    const full = importPeftAdapter(dir, model);
    if (full.method.kind !== 'prefix' || !('transform0' in full.method.params)) throw new Error('projection lost');
    const p = full.method.params;
    sameBits('embedding', p.embedding, params.embedding);
    if (!('transform0' in params)) throw new Error('unreachable');
    sameBits('transform.0.weight', p.transform0.weight, params.transform0.weight);
    sameBits('transform.0.bias', p.transform0.bias, params.transform0.bias);
    sameBits('transform.2.weight', p.transform2.weight, params.transform2.weight);
    sameBits('transform.2.bias', p.transform2.bias, params.transform2.bias);
  }));

test('import checks tensor shapes against the config', () =>
  withDir((dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f32');
    exportPeftAdapter(
      dir,
      model,
      { kind: 'prompt', params: initSoftPrompt(model, { numVirtualTokens: 5 }, prngKey(1)) },
      { baseModelNameOrPath: null },
    );
    const cfgPath = join(dir, 'adapter_config.json');
    const c = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    c['num_virtual_tokens'] = 6;
    writeFileSync(cfgPath, JSON.stringify(c));
    assert.throws(() => importPeftAdapter(dir, model), /prompt_embeddings is \[5, 32\], the config implies \[6, 32\]/);
  }));

test('export refuses what PEFT cannot express, naming why', () =>
  withDir((dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f32');
    const method: AdapterMethod = {
      kind: 'prompt',
      params: initSoftPrompt(model, { numVirtualTokens: 2 }, prngKey(1)),
    };
    const classifier = initClassifier(model, 2, prngKey(2));
    const go = (o: Partial<Parameters<typeof exportPeftAdapter>[3]>) => () =>
      exportPeftAdapter(dir, model, method, { baseModelNameOrPath: 'x', ...o });
    assert.throws(go({ classifier }), /checkpoint has no pooler \(pooler\.dense\.\*\), and no pooler was given/);
    assert.throws(go({ taskType: 'SEQ_CLS' }), /SEQ_CLS needs the trained classifier/);
    assert.throws(go({ taskType: 'CAUSAL_LM' }), /task_type CAUSAL_LM cannot be expressed/);
    assert.throws(
      go({ classifier, pooler: randomPooler(model, prngKey(3)), taskType: 'FEATURE_EXTRACTION' }),
      /FEATURE_EXTRACTION has no classification head/,
    );
  }));

test('base_model_name_or_path: hub ids and relative paths as given, absolute paths made relative', () => {
  assert.is(storedBaseModelName('bert-base-uncased'), 'bert-base-uncased');
  assert.is(storedBaseModelName('models/bert'), 'models/bert');
  assert.is(storedBaseModelName('/home/u/models/bert', '/home/u/runs'), '../models/bert');
  assert.is(storedBaseModelName('/home/u/runs', '/home/u/runs'), '.');
  assert.is(storedBaseModelName(null), null);
});

test.run();
