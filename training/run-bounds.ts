/**
 * Upper bounds of the size-like options, checked against the model's config.json and this machine
 * before anything is allocated or any folder is created (so `--prefix-projection 1000000000` is refused
 * in milliseconds with the option named, instead of a RangeError after the run folder exists):
 *
 * - `--threads` ≤ the cores Node reports (os.availableParallelism; more only adds memory and contention);
 * - `--prompt-length` leaves at least 4 text positions in the model's position table (virtual tokens and
 *   prefixes shift the text's position ids); `--max-length` needs no bound of its own, the text budget is
 *   min(max length, positions left);
 * - every trainable tensor fits one JavaScript typed array, and the checkpoint (params, best params and
 *   AdamW's two moments, one safetensors buffer) fits the 4 GiB a Uint8Array may hold;
 * - the memory a training step needs (frozen weights, trainable state, the activations kept for the
 *   backward pass of a batch) fits the machine's memory. The estimate is deliberately rough (within a
 *   small factor): it is there to refuse sizes that cannot run, not to tune the ones that can.
 *
 * `--pool-size`, `--prefix-projection`, `--generator-hidden`, `--bottleneck-dim`, `--batch-size` and
 * `--eval-batch-size` are bounded by the last two; the message names the option that costs the most.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { BertConfig } from '../models/bert/config.ts';
import type { RunConfig } from './run-config.ts';
import { UsageError } from './usage-error.ts';

/** What the machine offers (injectable for tests). */
export interface Machine {
  readonly cores: number;
  readonly memoryBytes: number;
}

export const thisMachine = (): Machine => ({ cores: availableParallelism(), memoryBytes: totalmem() });

/** Largest typed-array length and Uint8Array byte length Node 20 allows (buffer.constants.MAX_LENGTH). */
const MAX_ARRAY = 2 ** 32 - 1;
/** Text positions a prompt must leave (task-model.ts's text budget). */
const MIN_TEXT = 4;

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 2 : 1)} GiB`;

/** Positions the model's position table offers to prompt + text (RoBERTa reserves padding_idx + 1). */
export const usablePositions = (m: BertConfig): number =>
  m.maxPositionEmbeddings - (m.modelType === 'roberta' ? m.padTokenId + 1 : 0);

interface Cost {
  readonly option: string;
  readonly elements: number;
}

/** Trainable tensors of the method, each with the option that sizes it (largest first matters). */
function trainableTensors(c: RunConfig, m: BertConfig): Cost[] {
  const d = m.hiddenSize,
    L = m.numHiddenLayers,
    p = c.promptLength;
  const t: Cost[] = [];
  switch (c.method) {
    case 'soft':
      t.push({ option: '--prompt-length', elements: p * d });
      break;
    case 'prefix':
      if (c.prefixProjection > 0) {
        const h = c.prefixProjection;
        t.push(
          { option: '--prompt-length', elements: p * d },
          { option: '--prefix-projection', elements: d * h + h },
          { option: '--prefix-projection', elements: h * 2 * L * d + 2 * L * d },
        );
      } else t.push({ option: '--prompt-length', elements: p * 2 * L * d });
      break;
    case 'dynamic': {
      const k = c.poolSize;
      t.push(k > 0 ? { option: '--pool-size', elements: k * p * d } : { option: '--prompt-length', elements: p * d });
      if (k > 0) t.push({ option: '--pool-size', elements: d * k + k });
      if (c.dynamicPosition !== 'none') t.push({ option: '--prompt-length', elements: (p + 1) * (d + 1) });
      if (c.dynamicLength !== 'none') t.push({ option: '--prompt-length', elements: p * (d + 1) });
      break;
    }
    case 'infoprompt': {
      const g = c.generatorHidden,
        b = c.bottleneckDim;
      if (g > 0)
        t.push(
          { option: '--generator-hidden', elements: d * g + g },
          { option: '--generator-hidden', elements: g * p * d + p * d },
        );
      else t.push({ option: '--prompt-length', elements: p * d });
      t.push({ option: '--bottleneck-dim', elements: 2 * (d * b + b) + b * d + d });
      break;
    }
  }
  return t; // the classifier head (d × labels) is negligible next to these
}

/** Bytes of activations a step keeps for its backward pass (batch B, sequence S), per batch-size option. */
function activationBytes(c: RunConfig, m: BertConfig, B: number, backward: boolean, bytes: number): number {
  const S = Math.min(c.maxLength, usablePositions(m) - c.promptLength) + c.promptLength;
  const perLayer = B * S * (12 * m.hiddenSize + 2 * m.intermediateSize) + 3 * B * m.numAttentionHeads * S * S;
  const layers = backward ? m.numHiddenLayers : 1;
  // Dynamic position: m + 1 candidate layouts [B, S, d] are mixed (and kept for the backward pass).
  const dynamic =
    c.method === 'dynamic' && c.dynamicPosition !== 'none' ? (c.promptLength + 1) * B * S * m.hiddenSize : 0;
  return bytes * (layers * perLayer + dynamic);
}

/**
 * Throws a UsageError naming the option when the run cannot fit this model or machine. `evalBatchFlag`:
 * the flag that set evalBatchSize (eval and predict call it --batch-size).
 */
export function checkRunBounds(
  c: RunConfig,
  m: BertConfig,
  machine: Machine = thisMachine(),
  evalBatchFlag = '--eval-batch-size',
): void {
  if (c.threads > machine.cores)
    throw new UsageError(
      `--threads ${c.threads}: this machine has ${machine.cores} core${machine.cores === 1 ? '' : 's'}; use at most ${machine.cores} (0 = one per core)`,
    );
  const positions = usablePositions(m);
  if (c.promptLength > positions - MIN_TEXT)
    throw new UsageError(
      `--prompt-length ${c.promptLength}: the model has ${positions} positions and the text needs at least ${MIN_TEXT}; use at most ${positions - MIN_TEXT}`,
    );
  const bytes = c.dtype === 'f64' ? 8 : 4;
  const tensors = trainableTensors(c, m);
  const biggest = tensors.reduce((a, b) => (b.elements > a.elements ? b : a));
  if (biggest.elements > MAX_ARRAY)
    throw new UsageError(
      `${biggest.option} ${optionValue(c, biggest.option)}: one trainable tensor would have ${biggest.elements.toExponential(2)} elements, more than a JavaScript array holds (${MAX_ARRAY}); use a smaller value`,
    );
  const trainable = tensors.reduce((a, t) => a + t.elements, 0);
  const byOption = new Map<string, number>();
  for (const t of tensors) byOption.set(t.option, (byOption.get(t.option) ?? 0) + t.elements);
  const costliest = [...byOption].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  if (4 * trainable * bytes > MAX_ARRAY)
    throw new UsageError(
      `${costliest} ${optionValue(c, costliest)}: ${trainable.toExponential(2)} trainable parameters make a checkpoint of ${gib(4 * trainable * bytes)}, more than one file buffer holds (4 GiB); use a smaller value`,
    );
  const d = m.hiddenSize;
  const frozen =
    bytes *
    (m.vocabSize * d + m.maxPositionEmbeddings * d + m.numHiddenLayers * (4 * d * d + 2 * d * m.intermediateSize));
  const state = 8 * trainable * bytes; // current, best, AdamW m and v, gradient and the update's temporaries
  const train = activationBytes(c, m, c.batchSize, true, bytes),
    evalAct = activationBytes(c, m, c.evalBatchSize, false, bytes);
  const need = frozen + state + Math.max(train, evalAct);
  if (need > machine.memoryBytes) {
    const [option] = [
      ['--batch-size', train] as const,
      ['--eval-batch-size', evalAct] as const,
      [costliest, state] as const,
    ].reduce((a, b) => (b[1] > a[1] ? b : a));
    throw new UsageError(
      `${option === '--eval-batch-size' ? evalBatchFlag : option} ${optionValue(c, option)}: the run would need about ${gib(need)} of memory (frozen model ${gib(frozen)}, trainable state ${gib(state)}, activations ${gib(Math.max(train, evalAct))}) and this machine has ${gib(machine.memoryBytes)}; use a smaller value`,
    );
  }
}

const FIELD: Readonly<Record<string, keyof RunConfig>> = {
  '--prompt-length': 'promptLength',
  '--prefix-projection': 'prefixProjection',
  '--pool-size': 'poolSize',
  '--generator-hidden': 'generatorHidden',
  '--bottleneck-dim': 'bottleneckDim',
  '--batch-size': 'batchSize',
  '--eval-batch-size': 'evalBatchSize',
};

const optionValue = (c: RunConfig, option: string): string => String(c[FIELD[option] ?? 'promptLength']);
