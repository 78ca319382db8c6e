/**
 * One training session of the web page, with no DOM in it: load an encoder folder and a task (URLs or
 * dropped files, through the browser entry's file access), build the same task model the CLI trains,
 * and run the steps one at a time so the page can draw between them and stop them. Every GPU read is
 * awaited (a browser cannot read the GPU synchronously), which also hands the event loop back to the page.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  cpuBackend,
  data,
  foldIn,
  keep,
  scope,
  tensor,
  treeLeaves,
  treeMap,
  valueAndGrad,
  models,
  prompting,
  training,
  type Backend,
  type Tensor,
} from '../browser.ts';

export interface SessionOptions {
  /** Model folder: a URL path next to the page (`../models/demo-encoder`) or a mounted `mem://` folder. */
  readonly model: string;
  /** 'custom' (train/dev32/val JSONL with text, label) or a FewGLUE task name. */
  readonly task: string;
  /** The task's folder (custom) or the FewGLUE root. */
  readonly data: string;
  readonly backend: Backend;
  /** Run-config fields over the defaults (method, steps, lr, promptLength, batchSize, evalEvery, …). */
  readonly config: Partial<training.RunConfig>;
}

export interface StepReport {
  readonly step: number;
  readonly total: number;
  readonly loss: number;
  readonly lr: number;
  /** e.g. "3.51 it/s" and "0:12" (training.Meter). */
  readonly rate: string;
  readonly eta: string;
  /** Dev score (the task's main metric) when this step evaluated. */
  readonly dev?: number;
}

export interface Prediction {
  readonly text: string;
  readonly gold: string;
  readonly predicted: string;
  readonly confidence: number;
}

const fail = (what: string, e: { readonly message: string }): never => {
  throw new Error(`${what}: ${e.message}`);
};

/** A tree's tensors read from the GPU (asynchronously) into CPU tensors of the same shapes and paths. */
async function toCpu<T>(tree: T): Promise<T> {
  const cpu = cpuBackend();
  const host = new Map<string, Tensor>();
  for (const { path, leaf } of treeLeaves(tree))
    host.set(path, tensor(cpu, await leaf.data(), { shape: leaf.shape, dtype: leaf.dtype }));
  return treeMap(tree, (_, path) => host.get(path)!);
}

export class Session {
  private stopRequested = false;
  private params: training.TrainParams;
  private best: { step: number; score: number; params: training.TrainParams };
  private readonly opt;
  private optState: training.OptState<'m' | 'v'>;
  private readonly schedule: training.Schedule;
  private readonly key;

  private constructor(
    readonly tm: training.TaskModel,
    readonly task: training.TaskData,
  ) {
    const c = tm.cfg;
    this.opt = training.adamw({ weightDecay: c.weightDecay, decayMask: training.noDecayOnBiasAndNorm, inPlace: true });
    this.key = foldIn([c.seed >>> 0, 0x7472616e], 1);
    this.params = tm.init(this.key);
    this.best = { step: 0, score: -Infinity, params: training.cloneTree(this.params) };
    this.optState = this.opt.init(this.params);
    this.schedule = training.validateSchedule({
      kind: c.schedule === 'constant' ? 'constant-warmup' : c.schedule,
      baseLr: c.lr,
      warmupSteps: training.warmupSteps(c),
      totalSteps: c.steps,
    });
  }

  static async open(o: SessionOptions): Promise<Session> {
    const cfg = training.mergeConfig([{ ...o.config, model: o.model, task: o.task, data: o.data }], 'page');
    if (E.isLeft(cfg)) fail('settings', cfg.left);
    const c = (cfg as E.Right<training.RunConfig>).right;
    const task = await training.loadTaskData(c.task, c.data)();
    if (E.isLeft(task)) fail('task', task.left);
    const ck = await models.loadCheckpoint(c.model, c.dtype)();
    if (E.isLeft(ck)) fail('model', ck.left);
    const { weights, config } = (ck as E.Right<models.Checkpoint>).right;
    const model = models.BertModel.load(weights, config, o.backend, c.dtype);
    const tok = await training.loadPromptTokenizer(c.model)();
    if (E.isLeft(tok)) fail('tokenizer', tok.left);
    const data = (task as E.Right<training.TaskData>).right;
    const tm = training.buildTaskModel(model, (tok as E.Right<training.PromptTokenizer>).right, data, c);
    return new Session(tm, data);
  }

  /** Asks the running `train` to stop after the step in flight. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Trains to `cfg.steps` (or until stop()), reporting every step; dev evaluation every `evalEvery` steps. */
  async train(onStep: (r: StepReport) => void): Promise<{ readonly steps: number; readonly stopped: boolean }> {
    const c = this.tm.cfg,
      bk = this.tm.model.bk;
    const meter = new training.Meter(0, c.steps, () => performance.now());
    let epoch = 0,
      cursor = 0,
      step = 0;
    for (; step < c.steps && !this.stopRequested;) {
      const order = data.epochBatches(this.task.train, c.batchSize, c.seed, epoch);
      const examples = order[cursor]!;
      [epoch, cursor] = cursor + 1 >= order.length ? [epoch + 1, 0] : [epoch, cursor + 1];
      const lr = training.lrAt(this.schedule, this.optState.step);
      const at = step;
      const lossT = scope(bk, () => {
        const b = this.tm.batch(examples);
        const f = (p: training.TrainParams) => this.tm.loss(p, b, { key: foldIn(this.key, at), step: at });
        const [[loss], grads] = valueAndGrad(f, { hasAux: true })(this.params);
        const clipped = c.clip > 0 ? training.clipByGlobalNorm(grads, c.clip).grads : grads;
        const upd = this.opt.update(this.params, clipped, this.optState, lr);
        this.optState = { step: upd.state.step, slots: keepTree(upd.state.slots) };
        return loss;
      });
      const loss = (await lossT.data())[0]!;
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`step ${step + 1}: the loss is ${loss}`);
      step++;
      const dev = step % c.evalEvery === 0 || step === c.steps ? await this.devScore(step) : undefined;
      const { rate, eta } = meter.stats(step, 'it');
      onStep({ step, total: c.steps, loss, lr, rate, eta, ...(dev === undefined ? {} : { dev }) });
    }
    return { steps: step, stopped: this.stopRequested };
  }

  private async devScore(step: number): Promise<number | undefined> {
    if (this.task.dev.length === 0) return undefined;
    const { scores } = await training.evaluate(this.tm, this.task, this.params, this.task.dev);
    const v = scores[this.task.metrics.main] ?? -Infinity;
    if (v > this.best.score) {
      training.disposeTree(this.best.params);
      this.best = { step, score: v, params: training.cloneTree(this.params) };
    }
    return v;
  }

  /** The parameters the page reports and exports: the best by dev score, else the latest. */
  get chosen(): { readonly step: number; readonly params: training.TrainParams } {
    return this.best.step > 0 ? this.best : { step: 0, params: this.params };
  }

  /** Held-out scores (FewGLUE `val`, the demo's held-out split) of the chosen parameters. */
  async testScores(): Promise<Readonly<Record<string, number | undefined>>> {
    return (await training.evaluate(this.tm, this.task, this.chosen.params, this.task.test)).scores;
  }

  /** The first `n` held-out examples with gold and predicted labels. */
  async predictions(n: number): Promise<readonly Prediction[]> {
    const examples = this.task.test.slice(0, n);
    const logits = await training.logitsOf(this.tm, this.chosen.params, examples);
    return examples.map((e, i) => {
      const row = logits[i]!;
      const max = Math.max(...row);
      const exps = row.map((x) => Math.exp(x - max));
      const k = row.indexOf(max);
      const text = e.view.textPair === undefined ? e.view.text : `${e.view.text} ‖ ${e.view.textPair}`;
      return {
        text,
        gold: this.task.labels[e.label]!,
        predicted: this.task.labels[k]!,
        confidence: exps[k]! / exps.reduce((a, b) => a + b, 0),
      };
    });
  }

  /**
   * The chosen soft prompt / prefix (+ classifier and the pooler it reads through) as a PEFT adapter
   * folder's files, built from CPU copies (the exporter reads tensors synchronously).
   */
  async adapterFiles(modelName: string): Promise<prompting.PeftAdapterFiles> {
    const peft = this.tm.method.peft,
      c = this.tm.cfg;
    if (!peft) throw new Error(`method "${this.tm.cfg.method}" has no PEFT equivalent (soft and prefix do)`);
    const cpu = await toCpu(this.chosen.params);
    const head = cpu['head'] as unknown as prompting.ClassifierParams | undefined;
    const pooler = this.tm.pooler
      ? await toCpu({ weight: this.tm.pooler.weight, bias: this.tm.pooler.bias })
      : undefined;
    return prompting.peftAdapterFiles(this.tm.model, peft(cpu['prompt']), {
      baseModelNameOrPath: modelName,
      ...(head ? { classifier: head } : {}),
      ...(pooler ? { pooler: new models.Linear(pooler.weight, pooler.bias) } : {}),
      ...(this.tm.method.promptInit ? { init: this.tm.method.promptInit } : {}),
      saveProjectionWeights: true,
      card: {
        training: {
          trainer: "PromptGrad's web page (WebGPU in the browser)",
          method: c.method,
          task: this.task.name,
          'virtual tokens': c.promptLength,
          'learning rate': c.lr,
          'batch size': c.batchSize,
          'best dev step': this.chosen.step,
        },
        metrics: this.best.step > 0 ? { [`dev ${this.task.metrics.main}`]: this.best.score } : {},
        labels: this.task.labels,
      },
    });
  }
}

/** Optimiser state must outlive the step's scope (as in training/loop.ts). */
function keepTree<T>(tree: T): T {
  for (const { leaf } of treeLeaves(tree)) keep(leaf);
  return tree;
}
