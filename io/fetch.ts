/** Files read over HTTP(S) with `fetch`: a folder served next to a page, or any URL that allows it (CORS). */
import { FileNotFoundError, type FileSource } from './files.ts';

/** `path` relative to `base` (a browser page's document.baseURI; required for relative paths elsewhere). */
const resolve = (path: string, base: string | undefined): URL => new URL(path, base);

async function get(path: string, base: string | undefined, method: 'GET' | 'HEAD'): Promise<Response> {
  const url = resolve(path, base);
  let res: Response;
  try {
    res = await fetch(url, { method });
  } catch (e) {
    throw new Error(`cannot fetch ${url.href}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res.status === 404) throw new FileNotFoundError(url.href, 'fetch');
  if (!res.ok) throw new Error(`cannot fetch ${url.href}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

export function fetchFiles(base?: string): FileSource {
  return {
    readText: async (path) => (await get(path, base, 'GET')).text(),
    readBytes: async (path) => new Uint8Array(await (await get(path, base, 'GET')).arrayBuffer()),
    isFile: (path) =>
      get(path, base, 'HEAD').then(
        () => true,
        () => false,
      ),
  };
}
