/**
 * Export → reload: the folder has exactly Hugging Face's file set and BertForMaskedLM key names,
 * and models/bert (loadCheckpoint + loadTokenizer) rebuilds a model with identical logits.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { cpuBackend, prngKey, tensor } from '../../core/index.ts';
import { loadCheckpoint } from '../../models/bert/io/checkpoint.ts';
import { BertModel } from '../../models/bert/model.ts';
import { bertConfigFor } from '../../models/bert/random-weights.ts';
import { readSafetensorsHeader } from '../../models/bert/io/safetensors.ts';
import { loadTokenizer } from '../../models/bert/tokenizer/tokenizer.ts';
import { exportHf, HF_FILES } from '../../pretrain/export-hf.ts';
import { bertFromTensors, initParams, paramsToRaw, uploadParams } from '../../pretrain/params.ts';
import { SPECIAL_TOKENS, trainWordPiece, vocabTxt, WordCounter } from '../../pretrain/wordpiece-trainer.ts';

const bk = cpuBackend();

test('exported folder reloads with identical MLM logits and HF file/key names', async () => {
  const wc = new WordCounter();
  for (let i = 0; i < 3; i++) wc.add('the cat sat on the mat; the dog sat on the log. cats and dogs!');
  const vocab = trainWordPiece(wc.counts, { vocabSize: 60 });
  const cfg = bertConfigFor({
    vocabSize: vocab.length,
    hiddenSize: 16,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    intermediateSize: 32,
    maxPositionEmbeddings: 64,
  });
  const params = uploadParams(
    bk,
    'f32',
    initParams(cfg, prngKey(11)).map((r) => ({ ...r, data: r.data.map((x, i) => x * 10 + 0.01 * Math.cos(i)) })),
  );
  const dir = mkdtempSync(join(tmpdir(), 'pg-export-'));
  const out = join(dir, 'model');
  try {
    const w = await exportHf(out, {
      cfg,
      params: await paramsToRaw(params),
      vocabTxt: vocabTxt(vocab),
      modelMaxLength: 64,
      readme: '# test\n',
    })();
    if (E.isLeft(w)) throw new Error(w.left.message);
    assert.equal(readdirSync(out).sort(), [...HF_FILES, 'README.md'].sort());

    const header = readSafetensorsHeader(
      new Uint8Array(readFileSync(join(out, 'model.safetensors'))),
      'model.safetensors',
    );
    if (E.isLeft(header)) throw new Error(header.left.detail);
    const names = header.right.entries.map((e) => e.name).sort();
    assert.ok(
      names.every((n) => n.startsWith('bert.') || n.startsWith('cls.predictions.')),
      names.join(),
    );
    for (const n of [
      'bert.embeddings.word_embeddings.weight',
      'bert.encoder.layer.1.output.LayerNorm.weight',
      'cls.predictions.bias',
      'cls.predictions.transform.dense.weight',
      'cls.predictions.transform.LayerNorm.bias',
    ])
      assert.ok(names.includes(n), `missing ${n}`);
    assert.not.ok(
      names.some((n) => n.includes('decoder') || n.includes('pooler')),
      'tied decoder / pooler must not be saved',
    );
    assert.ok(header.right.entries.every((e) => e.dtype === 'F32'));
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['architectures'], ['BertForMaskedLM']);
    assert.is(config['vocab_size'], vocab.length);
    const stm = JSON.parse(readFileSync(join(out, 'special_tokens_map.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(Object.keys(stm).sort(), ['cls_token', 'mask_token', 'pad_token', 'sep_token', 'unk_token']);
    assert.equal(readFileSync(join(out, 'vocab.txt'), 'utf8').split('\n').slice(0, 5), [...SPECIAL_TOKENS]);

    const ck = await loadCheckpoint(out, 'f32')();
    const tk = await loadTokenizer(out)();
    if (E.isLeft(ck)) throw new Error(ck.left.detail);
    if (E.isLeft(tk)) throw new Error(tk.left.detail);
    assert.is(tk.right.source, 'tokenizer.json');
    const enc = tk.right.encodeBatch(['The cat sat on the [MASK].', 'dogs and cats']);
    const ids = tensor(bk, enc.inputIds, { shape: [enc.batchSize, enc.seqLen], dtype: 'i32' });
    const mask = tensor(bk, enc.attentionMask, { shape: [enc.batchSize, enc.seqLen], dtype: 'i32' });
    const logits = (m: BertModel) =>
      Array.from(m.mlmLogits(m.encode({ inputIds: ids, attentionMask: mask }).lastHiddenState).dataSync());
    const a = logits(bertFromTensors(cfg, bk, 'f32', params));
    const b = logits(BertModel.load(ck.right.weights, ck.right.config, bk, 'f32'));
    assert.is(a.length, enc.batchSize * enc.seqLen * vocab.length);
    assert.equal(a, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
