/**
 * config.json of a BERT / RoBERTa checkpoint, decoded with io-ts into a typed BertConfig.
 * The architecture sizes are required (a config without them is not a checkpoint config); other
 * fields default as transformers' BertConfig / RobertaConfig do. Features the encoder does not
 * implement (relative positions, decoders, cross-attention) are refused up front.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { platformFiles } from '../../io/platform.ts';
import { fromThrown, loadError, preview } from './load-error.ts';
import type { LoadError } from './load-error.ts';

export type ModelType = 'bert' | 'roberta';
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu' | 'gelu_pytorch_tanh';

export interface BertConfig {
  readonly modelType: ModelType;
  readonly architectures: readonly string[];
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly hiddenAct: HiddenAct;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly padTokenId: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly positionEmbeddingType: 'absolute';
  readonly hiddenDropoutProb: number;
  readonly attentionProbsDropoutProb: number;
  readonly initializerRange: number;
  readonly classifierDropout: number | null;
  readonly tieWordEmbeddings: boolean;
  /** Every other key (id2label, label2id, problem_type, …), kept verbatim so configToJson round-trips. */
  readonly extra: Readonly<Record<string, unknown>>;
}

const refine = (name: string, ok: (u: unknown) => boolean) =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => ok(u),
    (u, c) => (ok(u) ? t.success(u as number) : t.failure(u, c)),
    t.identity,
  );

const isNum = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u);
const PosInt = refine('positive integer', (u) => isNum(u) && Number.isSafeInteger(u) && u > 0);
const Index = refine('non-negative integer', (u) => isNum(u) && Number.isSafeInteger(u) && u >= 0);
const PosNum = refine('positive number', (u) => isNum(u) && u > 0);
const Prob = refine('number in [0, 1]', (u) => isNum(u) && u >= 0 && u <= 1);

const Required = t.type({
  model_type: t.string,
  vocab_size: PosInt,
  hidden_size: PosInt,
  num_hidden_layers: PosInt,
  num_attention_heads: PosInt,
  intermediate_size: PosInt,
});
const Optional = t.partial({
  architectures: t.union([t.array(t.string), t.null]),
  hidden_act: t.string,
  max_position_embeddings: PosInt,
  type_vocab_size: PosInt,
  layer_norm_eps: PosNum,
  pad_token_id: t.union([Index, t.null]),
  bos_token_id: t.union([Index, t.null]),
  eos_token_id: t.union([Index, t.null]),
  position_embedding_type: t.union([t.string, t.null]),
  hidden_dropout_prob: Prob,
  attention_probs_dropout_prob: Prob,
  initializer_range: PosNum,
  classifier_dropout: t.union([Prob, t.null]),
  tie_word_embeddings: t.boolean,
  is_decoder: t.boolean,
  add_cross_attention: t.boolean,
});

const KNOWN = new Set([...Object.keys(Required.props), ...Object.keys(Optional.props)]);
const ACTS: readonly HiddenAct[] = ['gelu', 'gelu_new', 'relu', 'gelu_pytorch_tanh'];

/** io-ts errors → `field "x": expected T, got V` (one per offending field). */
function describe(errors: t.Errors): string {
  const seen = new Set<string>();
  for (const err of errors) {
    const keys = err.context.map((c) => c.key).filter((k) => k !== '' && !/^\d+$/.test(k));
    const field = keys[0] ?? '(root)';
    const expected = err.context[err.context.length - 1]?.type.name ?? 'valid value';
    const got = err.value === undefined ? 'nothing (field missing)' : preview(err.value);
    seen.add(
      field === '(root)' ? `expected a JSON object, got ${got}` : `field "${field}": expected ${expected}, got ${got}`,
    );
  }
  return [...seen].join('; ');
}

/** Decodes a parsed config.json (`file` is only used in error messages). */
export function decodeBertConfig(json: unknown, file: string): Either<LoadError, BertConfig> {
  const fail = (kind: 'config' | 'unsupported', detail: string) => E.left(loadError(kind, file, detail));
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('config', `expected a JSON object, got ${preview(json)}`);
  const req = Required.decode(json);
  const opt = Optional.decode(json);
  if (E.isLeft(req) || E.isLeft(opt)) {
    return fail('config', describe([...(E.isLeft(req) ? req.left : []), ...(E.isLeft(opt) ? opt.left : [])]));
  }
  const r = req.right;
  const o = opt.right;
  if (r.model_type !== 'bert' && r.model_type !== 'roberta') {
    return fail('unsupported', `field "model_type": ${preview(r.model_type)} is not supported (bert, roberta are)`);
  }
  const act = o.hidden_act ?? 'gelu';
  if (!ACTS.includes(act as HiddenAct)) {
    return fail('unsupported', `field "hidden_act": ${preview(act)} is not supported (${ACTS.join(', ')} are)`);
  }
  const pos = o.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') {
    return fail(
      'unsupported',
      `field "position_embedding_type": ${preview(pos)} is not supported (only "absolute" is)`,
    );
  }
  if (o.is_decoder === true)
    return fail('unsupported', 'field "is_decoder": decoder (causal) models are not supported');
  if (o.add_cross_attention === true)
    return fail('unsupported', 'field "add_cross_attention": cross-attention is not supported');
  if (r.hidden_size % r.num_attention_heads !== 0) {
    return fail(
      'config',
      `field "hidden_size": ${r.hidden_size} is not a multiple of num_attention_heads ${r.num_attention_heads}`,
    );
  }
  const roberta = r.model_type === 'roberta';
  const padTokenId = o.pad_token_id ?? (roberta ? 1 : 0);
  if (padTokenId >= r.vocab_size)
    return fail('config', `field "pad_token_id": ${padTokenId} is outside vocab_size ${r.vocab_size}`);
  const extra: Record<string, unknown> = {};
  // `__proto__` is dropped: assigning it would replace the object's prototype, not add a key.
  for (const [k, v] of Object.entries(json)) if (!KNOWN.has(k) && k !== '__proto__') extra[k] = v;
  return E.right({
    modelType: r.model_type,
    architectures: o.architectures ?? [],
    vocabSize: r.vocab_size,
    hiddenSize: r.hidden_size,
    numHiddenLayers: r.num_hidden_layers,
    numAttentionHeads: r.num_attention_heads,
    intermediateSize: r.intermediate_size,
    hiddenAct: act as HiddenAct,
    maxPositionEmbeddings: o.max_position_embeddings ?? 512,
    typeVocabSize: o.type_vocab_size ?? 2,
    layerNormEps: o.layer_norm_eps ?? 1e-12,
    padTokenId,
    bosTokenId: o.bos_token_id !== undefined ? o.bos_token_id : roberta ? 0 : null,
    eosTokenId: o.eos_token_id !== undefined ? o.eos_token_id : roberta ? 2 : null,
    positionEmbeddingType: 'absolute',
    hiddenDropoutProb: o.hidden_dropout_prob ?? 0.1,
    attentionProbsDropoutProb: o.attention_probs_dropout_prob ?? 0.1,
    initializerRange: o.initializer_range ?? 0.02,
    classifierDropout: o.classifier_dropout ?? null,
    tieWordEmbeddings: o.tie_word_embeddings ?? true,
    extra,
  });
}

/** Parses config.json text. */
export function parseBertConfig(text: string, file: string): Either<LoadError, BertConfig> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(fromThrown('format', file, 'not valid JSON', e));
  }
  return decodeBertConfig(json, file);
}

/** Reads and decodes a config.json file. */
export const readBertConfig = (path: string): TaskEither<LoadError, BertConfig> =>
  TE.flatMapEither(
    TE.tryCatch(
      () => platformFiles.readText(path),
      (e) => fromThrown('io', path, 'cannot read', e),
    ),
    (text) => parseBertConfig(text, path),
  );

/**
 * The config as transformers writes it (snake_case, keys sorted), loadable by
 * `AutoConfig.from_pretrained`. Unknown keys from the original file are kept; architectures
 * defaults to the bare encoder class.
 */
export function configToJson(cfg: BertConfig): Record<string, unknown> {
  const roberta = cfg.modelType === 'roberta';
  const fields: Record<string, unknown> = {
    ...cfg.extra,
    architectures: cfg.architectures.length > 0 ? [...cfg.architectures] : [roberta ? 'RobertaModel' : 'BertModel'],
    model_type: cfg.modelType,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: cfg.hiddenAct,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: cfg.padTokenId,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    position_embedding_type: cfg.positionEmbeddingType,
    hidden_dropout_prob: cfg.hiddenDropoutProb,
    attention_probs_dropout_prob: cfg.attentionProbsDropoutProb,
    initializer_range: cfg.initializerRange,
    classifier_dropout: cfg.classifierDropout,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    is_decoder: false,
    add_cross_attention: false,
  };
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) sorted[k] = fields[k];
  return sorted;
}

/** configToJson as file text (2-space indent, trailing newline, as transformers writes it). */
export const serializeBertConfig = (cfg: BertConfig): string => `${JSON.stringify(configToJson(cfg), null, 2)}\n`;
