// Task Arithmetic (Ilharco et al., 2023): merged = lambda * sum_t tau_t.
import { z } from 'zod';
import { Lambda, parseWith } from './common.ts';
import type { BaseMergeParams, MergeMethod } from './types.ts';

export interface TaskArithmeticParams extends BaseMergeParams {}

const Schema = z.object({ lambda: Lambda.default(0.3) }).strict();

export const taskArithmetic: MergeMethod<TaskArithmeticParams> = {
  name: 'task_arithmetic',
  summary: 'lambda * sum of task vectors (lambda default 0.3, as in the Twin-Merging paper)',
  parseParams: (raw) => parseWith('task_arithmetic', Schema, raw),
  sparsify: (tau) => tau,
  combine: 'sum',
  manifestParams: () => ({}),
};
