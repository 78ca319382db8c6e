/**
 * The first key that occurs twice in a JSON object's top level, if any. `JSON.parse` keeps the last
 * of duplicate keys silently; the safetensors reference reader (serde) refuses a header with a repeated
 * tensor name, so a hostile file cannot show one tensor to one reader and another to the next.
 * `text` must already be valid JSON (this scan only tracks strings and nesting).
 */
export function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] !== ':') continue; // a string value, not a key
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}
