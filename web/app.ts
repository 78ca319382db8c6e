/**
 * The page: checks for WebGPU, loads the chosen encoder and task, trains a soft prompt or prefix on
 * WebGPU one step at a time (the plot, progress bar and status region update between steps; Stop ends
 * the run after the step in flight), then evaluates, lists predictions and offers the adapter as a
 * zipped PEFT folder. `window.promptgradPage` exposes the run's records and the gradient check for tests.
 */
import { zipSync, strToU8 } from 'fflate';
import { selectBackend, training, type Backend } from '../browser.ts';
import { gradientParity, type ParityReport } from './parity.ts';
import { Session, type StepReport } from './session.ts';
import { DEMO_ENCODER, mountModel, mountTask, sessionFor, type TaskChoice } from './sources.ts';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};
const num = (id: string): number => Number($<HTMLInputElement>(id).value);

interface PageState {
  readonly records: StepReport[];
  done: boolean;
  error?: string;
  test?: Readonly<Record<string, number | undefined>>;
  parity: (batch?: number) => Promise<ParityReport>;
}

let backend: Backend | undefined;
let session: Session | undefined;
let droppedModel: File[] = [];
let droppedTask: File[] = [];

const state: PageState = { records: [], done: false, parity: (batch) => parity(batch) };
(window as unknown as { promptgradPage: PageState }).promptgradPage = state;

function say(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** WebGPU or a clear reason why not, with what to do about it. */
async function checkGpu(): Promise<void> {
  const gpuNote = $('gpu');
  if (!('gpu' in navigator)) {
    say(
      gpuNote,
      'WebGPU is unavailable: this browser has no navigator.gpu. Use Chrome or Edge 113+ (on Linux: Chrome/Chromium with chrome://flags/#enable-unsafe-webgpu), and open the page from http://127.0.0.1 or https:// (WebGPU needs a secure context).',
      true,
    );
    $<HTMLButtonElement>('train').disabled = true;
    return;
  }
  try {
    const r = await selectBackend('webgpu', { log: () => {} });
    backend = r.backend;
    say(gpuNote, `WebGPU: ${r.note}.`);
  } catch (e) {
    say(gpuNote, `WebGPU is unavailable: ${e instanceof Error ? e.message : String(e)}`, true);
    $<HTMLButtonElement>('train').disabled = true;
  }
}

async function currentSetup() {
  const useDropped = document.querySelector<HTMLInputElement>('input[name=model][value=dropped]')!.checked;
  const model = useDropped ? mountModel(droppedModel) : DEMO_ENCODER;
  const task = $<HTMLSelectElement>('task').value as TaskChoice;
  const taskFolder = task === 'jsonl' && droppedTask.length ? await mountTask(droppedTask) : undefined;
  const method = $<HTMLSelectElement>('method').value === 'prefix' ? 'prefix' : 'soft';
  return sessionFor(model, task, taskFolder, {
    method,
    promptLength: num('prompt-length'),
    steps: num('steps'),
    lr: num('lr'),
    batchSize: num('batch'),
    evalEvery: num('eval-every'),
    dtype: 'f32',
    backend: 'webgpu',
    // the demo encoder never trained token type 1 (its README); any pair task keeps type 0 there
    ...(model === DEMO_ENCODER ? { segmentIds: 'single' as const } : {}),
  });
}

function drawPlot(records: readonly StepReport[], metric: string): void {
  const svg = training.lineChartSvg(
    [
      { name: 'train loss', points: records.map((r) => [r.step, r.loss] as const), axis: 'left', markers: false },
      {
        name: `dev ${metric}`,
        points: records.filter((r) => r.dev !== undefined).map((r) => [r.step, r.dev!] as const),
        axis: 'right',
        color: training.PALETTE[1],
      },
    ],
    { title: 'Training', xLabel: 'step', yLabel: 'train loss', y2Label: `dev ${metric}`, width: 720, height: 380 },
  );
  $('plot').innerHTML = svg;
}

function onStep(r: StepReport, metric: string): void {
  state.records.push(r);
  const progress = $<HTMLProgressElement>('progress');
  progress.max = r.total;
  progress.value = r.step;
  say($('progress-text'), `step ${r.step}/${r.total} · ${r.rate} · ETA ${r.eta}`);
  const lastDev = [...state.records].reverse().find((x) => x.dev !== undefined)?.dev;
  say(
    $('status'),
    `Step ${r.step} of ${r.total}, loss ${r.loss.toFixed(4)}, dev ${metric} ${lastDev === undefined ? 'not yet measured' : lastDev.toFixed(4)}`,
  );
  if (r.step % 5 === 0 || r.dev !== undefined || r.step === r.total) drawPlot(state.records, metric);
}

async function showResults(s: Session, modelName: string): Promise<void> {
  const main = s.task.metrics.main;
  state.test = await s.testScores();
  say(
    $('test-score'),
    `Held-out ${main} ${(state.test[main] ?? NaN).toFixed(4)} on ${s.task.test.length} examples (best dev step ${s.chosen.step}; chance for ${s.task.labels.length} classes ≈ ${(1 / s.task.labels.length).toFixed(2)}).`,
  );
  const body = $('predictions').querySelector('tbody')!;
  body.replaceChildren(
    ...(await s.predictions(8)).map((p) => {
      const tr = document.createElement('tr');
      for (const [text, cls] of [
        [p.text, ''],
        [p.gold, ''],
        [p.predicted, p.predicted === p.gold ? '' : 'wrong'],
        [`${(100 * p.confidence).toFixed(1)}%`, ''],
      ] as const) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }),
  );
  if (s.tm.method.peft) {
    const { files } = await s.adapterFiles(modelName);
    const folder = `adapter-${s.tm.cfg.method}`;
    const zip = zipSync(
      Object.fromEntries(
        [...files].map(([name, contents]) => [
          `${folder}/${name}`,
          typeof contents === 'string' ? strToU8(contents) : contents,
        ]),
      ),
    );
    const link = $<HTMLAnchorElement>('download');
    link.href = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
    link.download = `adapter-${s.tm.cfg.method}.zip`;
    link.hidden = false;
  }
  $('results').hidden = false;
}

async function run(): Promise<void> {
  if (!backend) return;
  const trainBtn = $<HTMLButtonElement>('train'),
    stopBtn = $<HTMLButtonElement>('stop');
  trainBtn.disabled = true;
  stopBtn.disabled = false;
  $('results').hidden = true;
  $<HTMLAnchorElement>('download').hidden = true;
  state.records.length = 0;
  state.done = false;
  try {
    say($('status'), 'Loading the encoder and the task…');
    const setup = await currentSetup();
    session = await Session.open({ ...setup, backend });
    const metric = session.task.metrics.main;
    say($('status'), `Training (the first steps compile the GPU kernels and are slow)…`);
    const { steps, stopped } = await session.train((r) => onStep(r, metric));
    drawPlot(state.records, metric);
    say($('progress-text'), `${stopped ? 'Stopped' : 'Finished'} after ${steps} steps. Evaluating…`);
    await showResults(session, setup.model === DEMO_ENCODER ? 'promptgrad/demo-encoder' : 'dropped-model');
    say($('progress-text'), `${stopped ? 'Stopped' : 'Finished'} after ${steps} steps.`);
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
    say($('status'), `Error: ${state.error}`, true);
  } finally {
    state.done = true;
    trainBtn.disabled = false;
    stopBtn.disabled = true;
  }
}

async function parity(batch = 8): Promise<ParityReport> {
  if (!backend) throw new Error('no WebGPU backend on this page');
  return gradientParity(await currentSetup(), backend, batch);
}

function dropZone(zone: string, input: string, take: (files: File[]) => void): void {
  const z = $(zone),
    i = $<HTMLInputElement>(input);
  i.addEventListener('change', () => take([...(i.files ?? [])]));
  z.addEventListener('dragover', (e) => {
    e.preventDefault();
    z.classList.add('over');
  });
  z.addEventListener('dragleave', () => z.classList.remove('over'));
  z.addEventListener('drop', (e) => {
    e.preventDefault();
    z.classList.remove('over');
    take([...(e.dataTransfer?.files ?? [])]);
  });
}

dropZone('model-drop', 'model-files', (files) => {
  droppedModel = files;
  document.querySelector<HTMLInputElement>('input[name=model][value=dropped]')!.checked = true;
});
dropZone('task-drop', 'task-files', (files) => {
  droppedTask = files;
  $<HTMLSelectElement>('task').value = 'jsonl';
});
$('setup').addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});
$('stop').addEventListener('click', () => session?.stop());
void checkGpu();
