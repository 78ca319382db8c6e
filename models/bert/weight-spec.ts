/**
 * The list of tensors a BERT / RoBERTa encoder reads, derived from its loaders: BertModel.fromWeights runs
 * against a recorder that notes every (name, shape) asked for, in load order, instead of a second
 * hand-written list that had to be kept in step with them.
 */
import { cpuBackend } from '../../core/backend/cpu/index.ts';
import { full, int8Weight, type Int8Weight, type Tensor } from '../../core/index.ts';
import type { BertConfig } from './config.ts';
import { BertModel } from './model.ts';
import { WeightScope, type OptionalPart, type TensorProvider } from './weight-scope.ts';
import type { WeightReq, WeightReqOptions, WeightSpec } from './weights.ts';

export interface BertWeightOptions {
  /** `pooler.dense.*`: true = required, 'optional' = checked if present. Default: not listed. */
  readonly pooler?: boolean | 'optional';
  /** The MLM head (`cls.predictions.*` / `lm_head.*`); the decoder weight is always optional (tied). */
  readonly mlmHead?: boolean | 'optional';
}

/**
 * Notes each tensor the loaders ask for. What it hands back is one shared placeholder (the modules built
 * while recording are dropped unused), so recording costs no memory whatever the model's size.
 */
class RecordingTensors implements TensorProvider {
  readonly bk = cpuBackend();
  readonly dtype = 'f32' as const;
  readonly spec: WeightReq[] = [];
  private readonly placeholder: Tensor = full(this.bk, [1], 0, 'f32');
  constructor(private readonly parts: BertWeightOptions) {}

  private note(name: string, shape: readonly number[], optional: boolean): void {
    const opts: WeightReqOptions | undefined = optional ? { optional: true } : undefined;
    this.spec.push(opts ? [name, [...shape], opts] : [name, [...shape]]);
  }
  has(): boolean {
    return true; // an untied decoder is recorded (as optional)
  }
  tensor(name: string, shape: readonly number[], optional: boolean): Tensor {
    this.note(name, shape, optional);
    return this.placeholder;
  }
  int8(name: string, shape: readonly [number, number]): Int8Weight {
    this.note(name, shape, false);
    return int8Weight(this.bk, new Float32Array(shape[0] * shape[1]), shape, name);
  }
  tied(name: string, shape: readonly number[]): void {
    this.note(name, shape, true);
  }
  part(kind: OptionalPart): 'absent' | 'required' | 'optional' {
    const want = this.parts[kind];
    return want === 'optional' ? 'optional' : want ? 'required' : 'absent';
  }
  dispose(): void {
    this.placeholder.dispose();
  }
}

/** Every tensor (normalised name, shape) a BERT / RoBERTa encoder with `config` reads, as its loaders ask. */
export function requiredBertWeights(config: BertConfig, opts: BertWeightOptions = {}): WeightSpec {
  const recorder = new RecordingTensors(opts);
  BertModel.fromWeights(new WeightScope(recorder), config);
  recorder.dispose();
  return recorder.spec;
}
