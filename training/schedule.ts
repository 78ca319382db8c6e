/**
 * Learning-rate schedules as pure functions of the step, with the Hugging Face formulas
 * (transformers/optimization.py: get_constant_schedule(_with_warmup), get_linear_schedule_with_warmup,
 * get_cosine_schedule_with_warmup). `lrAt(s, k)` is the rate for the update that follows k completed
 * updates (HF's LambdaLR after k `scheduler.step()` calls), so with warm-up the first update uses 0.
 */
import * as t from 'io-ts';

export type ScheduleKind = 'constant' | 'constant-warmup' | 'linear' | 'cosine';

export interface Schedule {
  readonly kind: ScheduleKind;
  readonly baseLr: number;
  readonly warmupSteps: number;
  /** Steps to decay over (ignored by the constant kinds). */
  readonly totalSteps: number;
  /** Cosine waves over the decay (HF default 0.5: one half-wave down to 0). */
  readonly numCycles?: number;
}

/** Decoder for a schedule in a JSON config. */
export const ScheduleCodec = t.intersection([
  t.type({
    kind: t.keyof({ constant: null, 'constant-warmup': null, linear: null, cosine: null }),
    baseLr: t.number,
    warmupSteps: t.number,
    totalSteps: t.number,
  }),
  t.partial({ numCycles: t.number }),
]);

/** The multiplier λ(step) of LambdaLR. */
export function lrLambda(s: Schedule, step: number): number {
  const { warmupSteps: w, totalSteps: T } = s;
  if (s.kind === 'constant') return 1;
  if (step < w) return step / Math.max(1, w);
  switch (s.kind) {
    case 'constant-warmup':
      return 1;
    case 'linear':
      return Math.max(0, (T - step) / Math.max(1, T - w));
    case 'cosine': {
      const progress = (step - w) / Math.max(1, T - w);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (s.numCycles ?? 0.5) * 2 * progress)));
    }
  }
}

export function lrAt(s: Schedule, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`lrAt: step must be an integer ≥ 0, got ${step}`);
  return s.baseLr * lrLambda(s, step);
}

/** Checks the numbers of a schedule; returns it unchanged or throws naming the field. */
export function validateSchedule(s: Schedule): Schedule {
  if (!Number.isFinite(s.baseLr) || s.baseLr < 0)
    throw new RangeError(`schedule.baseLr must be finite and ≥ 0, got ${s.baseLr}`);
  for (const k of ['warmupSteps', 'totalSteps'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 0) throw new RangeError(`schedule.${k} must be an integer ≥ 0, got ${s[k]}`);
  }
  if ((s.kind === 'linear' || s.kind === 'cosine') && s.warmupSteps > s.totalSteps) {
    throw new RangeError(`schedule: warmupSteps ${s.warmupSteps} exceeds totalSteps ${s.totalSteps}`);
  }
  return s;
}
