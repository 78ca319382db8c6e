/**
 * The web page in a real browser (`npm run test:browser`; part of `npm test` when a Chromium is there):
 * Debian's Chromium, headless, driven by playwright-core (executablePath; nothing is downloaded), on
 * its SwiftShader WebGPU adapter. It checks the page's WebGPU gradients against the CPU backend in the
 * same page, trains the demo task for a few dozen steps (the loss falls, and every step's loss matches
 * the same run in Node on the WASM backend), downloads the adapter zip and re-imports it in Node, where
 * the held-out accuracy must equal the page's. It takes screenshots during and after training (into a
 * temporary folder; SCREENSHOT_DIR=docs/images remakes the README's). No Chromium: SKIP, except under
 * CI=true where it fails. Environment: CHROMIUM_PATH (default /usr/bin/chromium), BROWSER_STEPS (default 30).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend } from '../core/backend/wasm/index.ts';
import { importPeftAdapter } from '../prompting/peft-adapter.ts';
import { evaluate } from '../training/evaluate.ts';
import { DEMO_SETTINGS } from '../examples/demo/settings.ts';
import type { ParityReport } from './parity.ts';
import { Session, type StepReport } from './session.ts';
import { buildWeb, serveStatic } from '../scripts/web.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const STEPS = Number(process.env['BROWSER_STEPS'] ?? 30);
const SHOTS = process.env['SCREENSHOT_DIR'] ?? mkdtempSync(join(tmpdir(), 'promptgrad-screens-'));
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// What the test sets on the page and gives the Node reference run (the demo's settings otherwise).
const SETTINGS = { steps: STEPS, batchSize: 8, evalEvery: 10, lr: 0.08, promptLength: 4 } as const;

interface PageState {
  readonly records: StepReport[];
  readonly done: boolean;
  readonly error?: string;
  readonly test?: Readonly<Record<string, number | undefined>>;
  parity(batch?: number): Promise<ParityReport>;
}
declare global {
  interface Window {
    promptgradPage: PageState;
  }
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function open(): Promise<{ ctx: BrowserContext; page: Page; close: () => Promise<void> }> {
  await buildWeb();
  const { server, url } = await serveStatic(ROOT, 0);
  const profile = mkdtempSync(join(tmpdir(), 'promptgrad-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    acceptDownloads: true,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}web/`);
  await page.waitForFunction(() => !document.getElementById('gpu')!.textContent.startsWith('Checking'), null, {
    timeout: 120_000,
  });
  assert.equal(errors, [], 'no page errors while loading');
  return {
    ctx,
    page,
    close: async () => {
      await ctx.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

if (!existsSync(CHROMIUM)) {
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env['CI'] === 'true')
    test('a Chromium to run the page in', () => {
      throw new Error(why);
    });
  // no test.skip: uvu leaves skipped tests out of Total, which scripts/test.mjs would count as failures
  else console.log(`SKIP: browser test: ${why}`);
} else {
  test('the page trains the demo on WebGPU in Chromium, matches the CPU, and its adapter re-imports in Node', async () => {
    const { page, close } = await open();
    try {
      const gpuNote = (await page.textContent('#gpu')) ?? '';
      assert.match(gpuNote, /webgpu backend/, `the page found WebGPU: ${gpuNote}`);

      // settings through the labelled controls, as a user (or a screen reader) would
      await page.getByLabel('Steps', { exact: true }).fill(String(SETTINGS.steps));
      await page.getByLabel('Batch size', { exact: true }).fill(String(SETTINGS.batchSize));
      await page.getByLabel('Dev every steps', { exact: true }).fill(String(SETTINGS.evalEvery));
      await page.getByLabel('Learning rate', { exact: true }).fill(String(SETTINGS.lr));
      await page.getByLabel('Virtual tokens', { exact: true }).fill(String(SETTINGS.promptLength));

      // WebGPU gradients against the CPU reference backend, in the same page
      const parity = await page.evaluate(() => window.promptgradPage.parity(8));
      console.log(
        `browser gradient parity: loss cpu ${parity.losses[0]} gpu ${parity.losses[1]}; max |Δg| ${parity.maxAbs.toExponential(2)}, max rel ${parity.maxRel.toExponential(2)} over ${parity.tensors.map((t) => t.path).join(', ')}`,
      );
      assert.ok(Math.abs(parity.losses[0] - parity.losses[1]) < 1e-5, 'loss on WebGPU = loss on the CPU');
      assert.ok(parity.maxRel < 1e-4, `gradients agree: max relative error ${parity.maxRel}`);

      const t0 = Date.now();
      await page.getByRole('button', { name: 'Train' }).click();
      await page.waitForFunction((n) => window.promptgradPage.records.length >= n, Math.min(12, STEPS), {
        timeout: 600_000,
      });
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'web-training.png') });
      await page.waitForFunction(() => window.promptgradPage.done, null, { timeout: 1_200_000 });
      const seconds = (Date.now() - t0) / 1000;
      await page.getByRole('link', { name: 'Download adapter' }).waitFor();
      await page.screenshot({ path: join(SHOTS, 'web-trained.png'), fullPage: true });
      for (const f of ['web-training.png', 'web-trained.png'])
        assert.ok(statSync(join(SHOTS, f)).size > 10_000, `screenshot ${f} was written`);

      const state = await page.evaluate(() => ({
        records: window.promptgradPage.records,
        error: window.promptgradPage.error,
        test: window.promptgradPage.test,
      }));
      assert.is(state.error, undefined);
      const losses = state.records.map((r) => r.loss);
      assert.is(losses.length, STEPS);
      const status = (await page.getByRole('status').textContent()) ?? '';
      assert.match(status, new RegExp(`Step ${STEPS} of ${STEPS}, loss \\d\\.\\d{4}, dev accuracy \\d\\.\\d{4}`));
      const first = mean(losses.slice(0, 5)),
        last = mean(losses.slice(-5));
      console.log(
        `browser training: ${STEPS} steps in ${seconds.toFixed(1)} s with evaluation (${state.records.at(-1)!.rate} at the end); loss first 5 ${first.toFixed(4)} -> last 5 ${last.toFixed(4)}; held-out accuracy ${state.test?.['accuracy']}`,
      );
      assert.ok(last < first - 0.05, `the loss falls: first 5 steps ${first}, last 5 ${last}`);

      // The same run in Node (WASM backend, same settings, seed and data order): the same losses.
      const wasm = createWasmBackend();
      const node = await Session.open({
        model: join(ROOT, 'models/demo-encoder'),
        task: 'custom',
        data: join(ROOT, 'examples/demo/data'),
        backend: wasm,
        config: { ...DEMO_SETTINGS, ...SETTINGS, dtype: 'f32', segmentIds: 'single' },
      });
      const ref: number[] = [];
      await node.train((r) => ref.push(r.loss));
      const worst = Math.max(...ref.map((x, i) => Math.abs(x - losses[i]!)));
      console.log(`browser vs Node (wasm) per-step loss: max |Δ| ${worst.toExponential(2)} over ${STEPS} steps`);
      assert.ok(worst < 1e-3, `per-step losses match Node's: max difference ${worst}`);

      // The adapter: download the zip, unzip it to a folder, import it in Node, score the held-out split.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download adapter' }).click(),
      ]);
      const zipPath = join(mkdtempSync(join(tmpdir(), 'promptgrad-adapter-')), 'adapter.zip');
      await download.saveAs(zipPath);
      const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
      const dir = dirname(zipPath);
      for (const [name, bytes] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), bytes);
      }
      const folder = join(dir, 'adapter-soft');
      assert.ok(
        existsSync(join(folder, 'adapter_config.json')) && existsSync(join(folder, 'adapter_model.safetensors')),
      );
      const imported = importPeftAdapter(folder, node.tm.model);
      assert.is(imported.config.peft_type, 'PROMPT_TUNING');
      assert.is(imported.config.num_virtual_tokens, SETTINGS.promptLength);
      assert.ok(imported.method.kind === 'prompt' && imported.classifier !== undefined);
      const params = { prompt: imported.method.params, head: imported.classifier };
      const scores = (await evaluate(node.tm, node.task, params, node.task.test)).scores;
      console.log(
        `adapter re-imported in Node: held-out accuracy ${scores['accuracy']} (page: ${state.test?.['accuracy']})`,
      );
      assert.is(scores['accuracy'], state.test?.['accuracy']);
      rmSync(dir, { recursive: true, force: true });

      // Dropped files, as a user drops them: the demo encoder's folder and one JSONL file (split 80/10/10
      // in the page) load from memory (mem://), and WebGPU still matches the CPU on them.
      const encoderFiles = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
      await page.setInputFiles(
        '#model-files',
        encoderFiles.map((f) => join(ROOT, 'models/demo-encoder', f)),
      );
      await page.setInputFiles('#task-files', join(ROOT, 'examples/demo/data/train.jsonl'));
      const dropped = await page.evaluate(() => window.promptgradPage.parity(4));
      console.log(`dropped model + JSONL: gradient max rel ${dropped.maxRel.toExponential(2)}`);
      assert.ok(dropped.maxRel < 1e-4, `gradients agree on the dropped files: ${dropped.maxRel}`);
    } finally {
      await close();
    }
  });
}

test.run();
