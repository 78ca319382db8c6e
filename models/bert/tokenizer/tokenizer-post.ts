/**
 * Post-processing (special tokens, token type ids) and truncation, done here rather than by
 * @huggingface/tokenizers: its RobertaProcessing gives the second segment type id 1 (the Rust
 * library, and so transformers, gives 0 — RoBERTa has a single token type), and it has no
 * truncation at all. Both follow the Rust `tokenizers` crate that transformers runs.
 */

export type Piece =
  | {
      readonly kind: 'special';
      readonly ids: readonly number[];
      readonly tokens: readonly string[];
      readonly typeId: number;
    }
  | { readonly kind: 'seq'; readonly which: 'A' | 'B'; readonly typeId: number };

export interface PostProcessor {
  readonly single: readonly Piece[];
  readonly pair: readonly Piece[];
  /** Type id of segment B when special tokens are not added (RoBERTa: 0, others: 1). */
  readonly plainPairTypeId: number;
}

const isObj = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);
const isId = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0;
const special = (token: string, id: number, typeId: number): Piece => ({
  kind: 'special',
  ids: [id],
  tokens: [token],
  typeId,
});
const seq = (which: 'A' | 'B', typeId: number): Piece => ({ kind: 'seq', which, typeId });

/** [token, id] as BertProcessing / RobertaProcessing store cls and sep. */
function tokenPair(u: unknown, field: string): readonly [string, number] {
  if (!Array.isArray(u) || u.length !== 2 || typeof u[0] !== 'string' || !isId(u[1]))
    throw new Error(`post_processor.${field} must be [token, id]`);
  return [u[0], u[1]];
}

function template(items: unknown, field: string, specials: Record<string, unknown>): Piece[] {
  if (!Array.isArray(items)) throw new Error(`post_processor.${field} must be an array`);
  return items.map((item, i) => {
    const where = `post_processor.${field}[${i}]`;
    if (!isObj(item)) throw new Error(`${where} must be an object`);
    const s = item['SpecialToken'];
    const q = item['Sequence'];
    if (isObj(s)) {
      const typeId = s['type_id'] ?? 0;
      const name = s['id'];
      const def = typeof name === 'string' && Object.hasOwn(specials, name) ? specials[name] : undefined;
      if (!isId(typeId) || !isObj(def))
        throw new Error(`${where}: special token ${JSON.stringify(name)} is not in post_processor.special_tokens`);
      const ids = def['ids'];
      const tokens = def['tokens'];
      if (
        !Array.isArray(ids) ||
        !ids.every(isId) ||
        !Array.isArray(tokens) ||
        !tokens.every((x) => typeof x === 'string') ||
        ids.length !== tokens.length
      ) {
        throw new Error(`${where}: special token ${JSON.stringify(name)} needs matching ids and tokens lists`);
      }
      return { kind: 'special', ids, tokens, typeId };
    }
    if (isObj(q)) {
      const typeId = q['type_id'] ?? 0;
      if ((q['id'] !== 'A' && q['id'] !== 'B') || !isId(typeId))
        throw new Error(`${where}: Sequence id must be "A" or "B"`);
      return seq(q['id'], typeId);
    }
    throw new Error(`${where} must hold SpecialToken or Sequence`);
  });
}

/** Reads tokenizer.json's post_processor; throws an Error naming the offending field. */
export function parsePostProcessor(cfg: unknown): PostProcessor {
  const plain: PostProcessor = { single: [seq('A', 0)], pair: [seq('A', 0), seq('B', 1)], plainPairTypeId: 1 };
  if (cfg === null || cfg === undefined) return plain;
  if (!isObj(cfg) || typeof cfg['type'] !== 'string')
    throw new Error('post_processor must be null or an object with a "type"');
  switch (cfg['type']) {
    case 'ByteLevel':
      return plain; // only adjusts offsets
    case 'TemplateProcessing': {
      const specials = isObj(cfg['special_tokens']) ? cfg['special_tokens'] : {};
      return {
        single: template(cfg['single'], 'single', specials),
        pair: template(cfg['pair'], 'pair', specials),
        plainPairTypeId: 1,
      };
    }
    case 'BertProcessing': {
      const [cls, clsId] = tokenPair(cfg['cls'], 'cls');
      const [sep, sepId] = tokenPair(cfg['sep'], 'sep');
      return {
        single: [special(cls, clsId, 0), seq('A', 0), special(sep, sepId, 0)],
        pair: [special(cls, clsId, 0), seq('A', 0), special(sep, sepId, 0), seq('B', 1), special(sep, sepId, 1)],
        plainPairTypeId: 1,
      };
    }
    case 'RobertaProcessing': {
      const [cls, clsId] = tokenPair(cfg['cls'], 'cls');
      const [sep, sepId] = tokenPair(cfg['sep'], 'sep');
      return {
        single: [special(cls, clsId, 0), seq('A', 0), special(sep, sepId, 0)],
        pair: [
          special(cls, clsId, 0),
          seq('A', 0),
          special(sep, sepId, 0),
          special(sep, sepId, 0),
          seq('B', 0),
          special(sep, sepId, 0),
        ],
        plainPairTypeId: 0,
      };
    }
    case 'Sequence': {
      const list = cfg['processors'];
      if (!Array.isArray(list)) throw new Error('post_processor.processors must be an array');
      // ByteLevel members only touch offsets; at most one member may add tokens.
      const real = list.filter((p) => !(isObj(p) && p['type'] === 'ByteLevel'));
      if (real.length > 1)
        throw new Error('post_processor: a Sequence with more than one token-adding processor is not supported');
      return parsePostProcessor(real[0] ?? null);
    }
    default:
      throw new Error(`post_processor type ${JSON.stringify(cfg['type']).slice(0, 40)} is not supported`);
  }
}

/** How many tokens the processor adds around one sequence or a pair. */
export const addedTokenCount = (p: PostProcessor, pair: boolean): number =>
  (pair ? p.pair : p.single).reduce((n, piece) => n + (piece.kind === 'special' ? piece.ids.length : 0), 0);

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/**
 * The lengths sequences A and B keep so that together they fit `budget` tokens (the max length
 * minus the special tokens), exactly as the Rust tokenizers' `truncate_encodings`.
 * nB undefined = no pair. Throws where Rust returns a TruncationError.
 */
export function truncatedLengths(
  nA: number,
  nB: number | undefined,
  budget: number,
  strategy: TruncationStrategy,
): [number, number] {
  const b = nB ?? 0;
  if (budget <= 0) return [0, 0];
  if (nA + b <= budget) return [nA, b];
  const toRemove = nA + b - budget;
  if (strategy === 'longest_first') {
    if (nB === undefined) return [budget, 0];
    let n1 = Math.min(nA, b);
    let n2 = Math.max(nA, b);
    n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
    if (n1 + n2 > budget) {
      n1 = Math.floor(budget / 2);
      n2 = n1 + (budget % 2);
    }
    return nA > b ? [n2, n1] : [n1, n2];
  }
  if (strategy === 'only_second' && nB === undefined)
    throw new Error('truncation "only_second" needs a second sequence');
  const first = strategy === 'only_first';
  const target = first ? nA : b;
  if (target <= toRemove)
    throw new Error(
      `truncation "${strategy}": that sequence has ${target} tokens, ${toRemove} must go to fit the max length`,
    );
  return first ? [nA - toRemove, b] : [nA, b - toRemove];
}
