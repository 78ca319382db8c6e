// Types of scripts/web.mjs (a plain ES module script) for the browser test that imports it.
import type { BuildResult } from 'esbuild';
import type { Server } from 'node:http';

export const ROOT: string;
export function buildWeb(opts?: { readonly minify?: boolean }): Promise<BuildResult<{ metafile: true }>>;
export function serveStatic(root: string, port?: number): Promise<{ readonly server: Server; readonly url: string }>;
