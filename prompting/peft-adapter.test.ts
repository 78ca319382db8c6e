/** PEFT adapter export/import: config fields as PEFT writes them, bit-identical round trips, projection refusal. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, prngKey, splitKey, type Tensor } from '../core/index.ts';
import { loadFixtureModel, FIXTURE_DIR } from '../proofs-tests/prompting/support.ts';
import { initClassifier } from './heads.ts';
import { exportPeftAdapter, importPeftAdapter, type AdapterMethod } from './peft-adapter.ts';
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

const withDir = async (f: (dir: string) => void | Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-adapter-'));
  try {
    await f(join(dir, 'adapter'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

for (const dtype of ['f32', 'f64'] as const) {
  test(`prompt tuning + classifier round trip (${dtype}): PEFT's field names, bit-identical tensors`, () =>
    withDir(async (dir) => {
      const bk = cpuBackend();
      const model = loadFixtureModel(bk, dtype);
      const [k1, k2] = splitKey(prngKey(3), 2);
      const params = initSoftPrompt(model, { numVirtualTokens: 5, init: { kind: 'random' } }, k1!);
      const classifier = initClassifier(model, 2, k2!);
      const cfg = await exportPeftAdapter(
        dir,
        model,
        { kind: 'prompt', params },
        { baseModelNameOrPath: 'bert-tiny', classifier, init: { kind: 'random' } },
      );
      const ref = reference['peft.prompt']!.config;
      assert.equal(Object.keys(cfg), Object.keys(ref), 'field names and order as PEFT');
      for (const k of [
        'task_type',
        'peft_type',
        'peft_version',
        'num_virtual_tokens',
        'token_dim',
        'num_transformer_submodules',
        'num_attention_heads',
        'num_layers',
        'prompt_tuning_init',
        'base_model_name_or_path',
      ] as const) {
        assert.equal((cfg as unknown as Record<string, unknown>)[k], ref[k], k);
      }
      assert.is(cfg.inference_mode, true);
      assert.equal(readdirSync(dir).sort(), ['adapter_config.json', 'adapter_model.safetensors'], 'no tmp files left');
      const back = importPeftAdapter(dir, bk);
      assert.equal(back.config, cfg);
      assert.is(back.method.kind, 'prompt');
      if (back.method.kind !== 'prompt' || !back.classifier) throw new Error('unreachable');
      sameBits('prompt_embeddings', back.method.params.promptEmbeddings, params.promptEmbeddings);
      sameBits('classifier.weight', back.classifier.weight, classifier.weight);
      sameBits('classifier.bias', back.classifier.bias, classifier.bias);
    }));
}

test('prefix round trip without projection: prompt_embeddings [m, 2·L·d], config as PEFT', () =>
  withDir(async (dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f32');
    const params = initPrefix(model, { numVirtualTokens: 4 }, prngKey(5));
    const cfg = await exportPeftAdapter(
      dir,
      model,
      { kind: 'prefix', params },
      { baseModelNameOrPath: 'bert-tiny', classifier: initClassifier(model, 2, prngKey(6)) },
    );
    const ref = reference['peft.prefix']!.config;
    assert.equal(Object.keys(cfg), Object.keys(ref));
    for (const k of [
      'peft_type',
      'num_virtual_tokens',
      'token_dim',
      'num_layers',
      'num_attention_heads',
      'encoder_hidden_size',
      'prefix_projection',
      'init_weights',
    ] as const) {
      assert.equal((cfg as unknown as Record<string, unknown>)[k], ref[k], k);
    }
    const back = importPeftAdapter(dir, bk);
    assert.equal(back.config, cfg);
    if (back.method.kind !== 'prefix') throw new Error('kind');
    assert.equal([...back.method.params.embedding.shape], [4, 2 * 2 * 32]);
    sameBits('prompt_embeddings', back.method.params.embedding, params.embedding);
  }));

test('projected prefix: saves the projected table; import refuses to invert unless asked', () =>
  withDir(async (dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f64');
    const params = initPrefix(model, { numVirtualTokens: 3, projectionHiddenSize: 16 }, prngKey(7));
    const method: AdapterMethod = { kind: 'prefix', params };
    const cfg = await exportPeftAdapter(dir, model, method, { baseModelNameOrPath: 'bert-tiny' });
    assert.is(cfg.peft_type === 'PREFIX_TUNING' && cfg.prefix_projection && cfg.encoder_hidden_size === 16, true);
    assert.throws(() => importPeftAdapter(dir, bk), /cannot be inverted/);
    const table = importPeftAdapter(dir, bk, { projected: 'as-table' });
    if (table.method.kind !== 'prefix') throw new Error('kind');
    sameBits('projected table', table.method.params.embedding, prefixTable(params));
    // With the MLP saved too, the import is lossless.
    await exportPeftAdapter(dir, model, method, { baseModelNameOrPath: 'bert-tiny', saveProjectionWeights: true });
    const full = importPeftAdapter(dir, bk);
    if (full.method.kind !== 'prefix' || !('transform0' in full.method.params)) throw new Error('projection lost');
    const p = full.method.params;
    sameBits('embedding', p.embedding, params.embedding);
    if (!('transform0' in params)) throw new Error('unreachable');
    sameBits('transform.0.weight', p.transform0.weight, params.transform0.weight);
    sameBits('transform.0.bias', p.transform0.bias, params.transform0.bias);
    sameBits('transform.2.weight', p.transform2.weight, params.transform2.weight);
    sameBits('transform.2.bias', p.transform2.bias, params.transform2.bias);
  }));

test('import checks shapes against the config', () =>
  withDir(async (dir) => {
    const bk = cpuBackend();
    const model = loadFixtureModel(bk, 'f32');
    await exportPeftAdapter(
      dir,
      model,
      { kind: 'prompt', params: initSoftPrompt(model, { numVirtualTokens: 5 }, prngKey(1)) },
      { baseModelNameOrPath: null },
    );
    const cfgPath = join(dir, 'adapter_config.json');
    const c = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    c['num_virtual_tokens'] = 6;
    writeFileSync(cfgPath, JSON.stringify(c));
    assert.throws(() => importPeftAdapter(dir, bk), /prompt_embeddings is \[5, 32\], the config implies \[6, 32\]/);
  }));

test.run();
