/**
 * Validation of a parsed tokenizer.json before it reaches @huggingface/tokenizers, which assumes a
 * well-formed file: it would throw TypeErrors on missing parts, or walk a vocabulary array sized
 * by the largest id (2^32 slots for one hostile id).
 */
import { preview } from '../load-error.ts';

const isObj = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);
const isId = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0;

/** The first structural problem (model type, vocab ids, merges, added tokens, components), or undefined. */
export function checkTokenizerJson(json: unknown): string | undefined {
  if (!isObj(json)) return `expected a JSON object, got ${preview(json)}`;
  const model = json['model'];
  if (!isObj(model)) return `field "model": expected an object, got ${preview(model)}`;
  if (model['type'] !== 'WordPiece' && model['type'] !== 'BPE')
    return `field "model.type": ${preview(model['type'])} is not supported (WordPiece, BPE are)`;
  const vocab = model['vocab'];
  if (!isObj(vocab)) return `field "model.vocab": expected an object of token → id, got ${preview(vocab)}`;
  const ids = Object.values(vocab);
  if (ids.length === 0) return 'field "model.vocab" is empty';
  const bad = Object.entries(vocab).find(([, v]) => !isId(v));
  if (bad)
    return `field "model.vocab": token ${preview(bad[0])} has id ${preview(bad[1])}, expected a non-negative integer`;
  const added = json['added_tokens'] ?? [];
  if (!Array.isArray(added)) return `field "added_tokens": expected an array, got ${preview(added)}`;
  for (const [i, t] of added.entries()) {
    if (!isObj(t) || !isId(t['id']) || typeof t['content'] !== 'string')
      return `field "added_tokens[${i}]": expected {id, content}, got ${preview(t)}`;
  }
  let maxId = 0; // a loop, not Math.max(...ids): a 250k vocabulary would overflow the call stack
  for (const id of [...(ids as number[]), ...added.map((t) => (t as { id: number }).id)]) if (id > maxId) maxId = id;
  if (maxId > 2 * (ids.length + added.length) + 1024)
    return `ids up to ${maxId} for ${ids.length + added.length} tokens: vocabulary too sparse`;
  if (model['type'] === 'BPE') {
    const merges = model['merges'];
    const okMerge = (m: unknown) =>
      (typeof m === 'string' && m.split(' ').length === 2) ||
      (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string'));
    if (!Array.isArray(merges) || !merges.every(okMerge))
      return 'field "model.merges": expected an array of "a b" strings or [a, b] pairs';
  }
  for (const k of ['normalizer', 'pre_tokenizer', 'decoder', 'post_processor']) {
    const c = json[k];
    if (c !== undefined && c !== null && !(isObj(c) && typeof c['type'] === 'string'))
      return `field "${k}": expected null or an object with a "type", got ${preview(c)}`;
  }
  return undefined;
}
