/**
 * POSIX-style path joining for the browser, where a "path" is a relative URL (`../models/demo-encoder`),
 * an absolute URL (`https://host/folder`) or an in-memory folder (`mem://dropped-model`). The scheme and
 * host are kept as they are; the rest is normalised as `path.posix.join` does.
 */
const ORIGIN = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/;

export function joinUrlPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  const origin = ORIGIN.exec(joined)?.[0] ?? '';
  const rest = joined.slice(origin.length);
  const absolute = origin !== '' || rest.startsWith('/');
  const out: string[] = [];
  for (const seg of rest.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && absolute)
      continue; // above the root stays at the root
    else out.push(seg);
  }
  const body = out.join('/');
  const trailing = joined.endsWith('/') && body !== '' ? '/' : '';
  if (origin !== '') return `${origin}/${body}${trailing}`;
  if (absolute) return `/${body}${trailing}`;
  return body === '' ? '.' : `${body}${trailing}`;
}
