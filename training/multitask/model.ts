/**
 * A multitask task model: one frozen encoder and tokenizer, one single-task TaskModel per task (its
 * head, label set, verbalizer words and batching), and a parameter tree whose prompt parts are shared
 * or per task as `--share` says (sharing.ts). Every task's forward is its own TaskModel's forward on
 * `taskParams(shared, own)`, so a multitask run adds no new forward code: what a task computes is what
 * its single-task run computes with the same parameters.
 *
 * Initialisation: each task's parameters are `tm.init(key)` with the run key, exactly those of its
 * single-task run with the same seed; shared parts come from the first task (the same values, as the
 * method's tree does not depend on the task).
 */
import { mul, add, type PRNGKey, type Tensor } from '../../core/index.ts';
import type { BertModel } from '../../models/bert/model.ts';
import type { RunConfig, ShareName } from '../run-config.ts';
import type { TaskData } from '../task-data.ts';
import {
  buildTaskModel,
  type LossAux,
  type PreparedBatch,
  type StepContext,
  type TaskModel,
  type TrainParams,
} from '../task-model.ts';
import type { PromptTokenizer } from '../text-encoding.ts';
import { disposeTree } from '../tree-util.ts';
import { UsageError } from '../usage-error.ts';
import {
  sharedKeys,
  sharedOf,
  splitTaskParams,
  taskParams,
  type MultitaskParams,
  type TaskOwnParams,
} from './sharing.ts';

export interface MultitaskTask {
  readonly name: string;
  readonly data: TaskData;
  readonly tm: TaskModel;
}

/** What one optimiser step differentiates: the shared part (if any) and one task's own part. */
export interface TaskGroupParams {
  readonly [k: string]: ParamTreeLike;
  readonly own: TaskOwnParams;
}
type ParamTreeLike = TrainParams[string];

/** Examples of one task inside a (possibly mixed) batch. */
export interface TaskBatch {
  readonly task: number;
  readonly batch: PreparedBatch;
}

export interface MultitaskModel {
  readonly model: BertModel;
  readonly tokenizer: PromptTokenizer;
  readonly cfg: RunConfig;
  readonly share: ShareName;
  readonly tasks: readonly MultitaskTask[];
  /** The prompt keys every task shares (empty for `--share none`). */
  readonly sharedKeys: readonly string[];
  init(key: PRNGKey): MultitaskParams;
  /** The index of a task by name; a UsageError naming the run's tasks otherwise. */
  indexOf(name: string, what?: string): number;
  /** Task t's single-task tree `{ prompt, head? }` (the multitask tree's own tensors, no copies). */
  paramsFor(p: MultitaskParams, t: number): TrainParams;
  /** The group tree one step of task t differentiates: `{ shared?, own }`. */
  groupOf(p: MultitaskParams, t: number): TaskGroupParams;
  /** Task t's loss on its batch as a function of its group tree. */
  groupLoss(g: TaskGroupParams, t: number, b: PreparedBatch, train?: StepContext): [Tensor, LossAux];
  /**
   * The multitask loss of a batch made of task groups: Σ_t (n_t / N)·loss_t, the mean over all N
   * examples of each example's own task loss. Training uses one group per step; the mixed form is what
   * the gradient-isolation property test checks.
   */
  loss(p: MultitaskParams, groups: readonly TaskBatch[], train?: StepContext): Tensor;
}

export function buildMultitaskModel(
  model: BertModel,
  tokenizer: PromptTokenizer,
  tasks: readonly TaskData[],
  cfg: RunConfig,
): MultitaskModel {
  if (tasks.length < 2) throw new UsageError(`a multitask run needs at least two tasks, got ${tasks.length}`);
  const parts: MultitaskTask[] = tasks.map((data) => ({
    name: data.name,
    data,
    tm: buildTaskModel(model, tokenizer, data, { ...cfg, task: data.name }),
  }));
  const names = parts.map((p) => p.name);
  // The method's tree shape is the same for every task; its keys decide the split.
  const probe = parts[0]!.tm.init([0, 0]);
  const keys = Object.keys(probe.prompt);
  disposeTree(probe);
  const keysShared = sharedKeys(cfg.share, cfg, keys);
  if (cfg.share === 'pool' && !keysShared.includes('pool'))
    throw new UsageError('--share pool: this dynamic prompt has no pool (set --pool-size k > 0)');
  const withShared = (shared: TrainParams[string] | undefined, own: TaskOwnParams): TaskGroupParams =>
    shared === undefined ? { own } : { shared, own };

  const mt: MultitaskModel = {
    model,
    tokenizer,
    cfg,
    share: cfg.share,
    tasks: parts,
    sharedKeys: keysShared,
    init(key) {
      const split = parts.map((p) => splitTaskParams(p.tm.init(key), keysShared));
      split.slice(1).forEach((s) => disposeTree(s.shared));
      const own = Object.fromEntries(split.map((s, i) => [names[i]!, s.own]));
      return keysShared.length > 0 ? { shared: split[0]!.shared, tasks: own } : { tasks: own };
    },
    indexOf(name, what = '--task') {
      const i = names.indexOf(name);
      if (i < 0) throw new UsageError(`${what} ${name}: this run's tasks are ${names.join(', ')}`);
      return i;
    },
    paramsFor: (p, t) => taskParams(sharedOf(p), p.tasks[names[t]!]!),
    groupOf: (p, t) => withShared(sharedOf(p), p.tasks[names[t]!]!),
    groupLoss: (g, t, b, train) => parts[t]!.tm.loss(taskParams(g['shared'], g.own), b, train),
    loss(p, groups, train) {
      const n = groups.reduce((a, g) => a + g.batch.hostLabels.length, 0);
      let total: Tensor | undefined;
      for (const g of groups) {
        const [l] = mt.groupLoss(mt.groupOf(p, g.task), g.task, g.batch, train);
        const w = mul(l, g.batch.hostLabels.length / n);
        total = total ? add(total, w) : w;
      }
      if (!total) throw new RangeError('multitask loss: the batch has no task groups');
      return total;
    },
  };
  return mt;
}
