/** The primitive ops, one module per family; importing this installs the VJP table (vjp-rules.ts) and the walker's helpers. */
import { installWalkerOps } from '../../autograd/tape.ts';
import { add, cast } from './elementwise.ts';
import { sum } from './reduce.ts';
import { reshape } from './shape-ops.ts';
import { vjpRules } from './vjp-rules.ts';

export * from './elementwise.ts';
export * from './reduce.ts';
export * from './shape-ops.ts';
export * from './linalg.ts';
export * from './indexing.ts';
export * from './nn-fused.ts';
export * from './attention.ts';
export type { TensorLike } from './bind.ts';

installWalkerOps({ rules: vjpRules, sumAxes: (t, axes) => sum(t, axes), reshape, add, cast });
