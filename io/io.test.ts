/**
 * The file access interface's browser implementations, run in Node: path joining (held to Node's own
 * path.posix.join), in-memory (dropped) folders, and fetch against a local HTTP server.
 */
import { createServer, type Server } from 'node:http';
import { posix } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchFiles } from './fetch.ts';
import { isNotFound } from './files.ts';
import { memoryFiles, mountFiles, unmountFiles } from './memory.ts';
import { joinUrlPath } from './paths.ts';
import { platformFiles as browserFiles } from './platform.browser.ts';

test('joinUrlPath joins plain paths as path.posix.join does', () => {
  const cases: string[][] = [
    ['a', 'b'],
    ['a/', 'b'],
    ['./a', './b/c.json'],
    ['../models/demo-encoder', 'config.json'],
    ['../../x', '..', 'y'],
    ['/root', '../..', 'z'],
    ['a/b/', '../c/'],
    ['a', ''],
    ['.', '.'],
    ['/', 'a//b'],
  ];
  for (const c of cases) assert.is(joinUrlPath(...c), posix.join(...c), c.join(' + '));
});

test('joinUrlPath keeps a scheme and host intact', () => {
  assert.is(joinUrlPath('https://host.example/a/', 'b.json'), 'https://host.example/a/b.json');
  assert.is(joinUrlPath('http://127.0.0.1:8080', '../x'), 'http://127.0.0.1:8080/x');
  assert.is(joinUrlPath('mem://model', './config.json'), 'mem://model/config.json');
});

test('mounted files read back as text and bytes; absent ones reject with ENOENT', async () => {
  const folder = mountFiles('t1', [
    ['config.json', new Blob(['{"a":1}'])],
    ['w.bin', Uint8Array.of(1, 2, 3)],
    ['s.txt', 'héllo'],
  ]);
  assert.is(folder, 'mem://t1');
  assert.is(await memoryFiles.readText(`${folder}/config.json`), '{"a":1}');
  assert.equal([...(await memoryFiles.readBytes(`${folder}/w.bin`))], [1, 2, 3]);
  assert.equal([...(await memoryFiles.readBytes(`${folder}/s.txt`))], [...new TextEncoder().encode('héllo')]);
  assert.ok(await memoryFiles.isFile(`${folder}/./config.json`));
  assert.not.ok(await memoryFiles.isFile(`${folder}/missing.json`));
  const err = await memoryFiles.readText(`${folder}/missing.json`).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isNotFound(err));
  assert.match(String(err), 'mem://t1/missing.json');
  unmountFiles(folder);
  assert.not.ok(await memoryFiles.isFile(`${folder}/config.json`));
  assert.throws(() => mountFiles('no/slash', []), /folder name "no\/slash"/);
});

function serve(files: Record<string, string>): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (req.url === '/broken') res.writeHead(500).end('boom');
    else if (body === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(req.method === 'HEAD' ? '' : body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, base: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` });
    }),
  );
}

test('fetchFiles reads over HTTP; 404 is ENOENT, other statuses name the URL and status', async () => {
  const { server, base } = await serve({ '/m/config.json': '{"x":2}' });
  try {
    const web = fetchFiles(base);
    assert.is(await web.readText('m/config.json'), '{"x":2}');
    assert.equal([...(await web.readBytes('m/config.json'))], [...new TextEncoder().encode('{"x":2}')]);
    assert.ok(await web.isFile('m/config.json'));
    assert.not.ok(await web.isFile('m/nope.json'));
    const missing = await web.readText('m/nope.json').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isNotFound(missing));
    await web.readText('broken').then(
      () => assert.unreachable('HTTP 500 must reject'),
      (e: unknown) => assert.match(String(e), `${base}broken: HTTP 500`),
    );
    // The browser platform: mem:// from the mounted files, anything else fetched.
    const folder = mountFiles('t2', [['a.txt', 'A']]);
    assert.is(await browserFiles.readText(`${folder}/a.txt`), 'A');
    assert.is(await browserFiles.readText(`${base}m/config.json`), '{"x":2}');
  } finally {
    server.close();
  }
});

test.run();
