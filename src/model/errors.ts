/**
 * Typed errors raised by src/model while reading a config.json or checking a checkpoint's
 * tensors. Every error is raised before any GPU memory is allocated.
 */

/** config.json names an architecture or option this engine does not implement. */
export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
  constructor(
    message: string,
    /** What the engine supports, for the message shown to a user. */
    readonly supported: readonly string[] = [],
  ) {
    super(supported.length > 0 ? `${message} (supported: ${supported.join(', ')})` : message);
  }
}

/** config.json is not valid (missing fields, wrong types, inconsistent sizes). */
export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length > 0 ? `${message}:\n  - ${issues.join('\n  - ')}` : message);
  }
}

export type WeightProblem =
  | { kind: 'missing'; tensor: string; expectedShape: readonly number[] }
  | { kind: 'extra'; tensor: string; foundShape: readonly number[] }
  | {
      kind: 'shape';
      tensor: string;
      expectedShape: readonly number[];
      foundShape: readonly number[];
    }
  | { kind: 'dtype'; tensor: string; foundDtype: string; supportedDtypes: readonly string[] };

function describeProblem(p: WeightProblem): string {
  switch (p.kind) {
    case 'missing':
      return `missing tensor ${p.tensor} (expected shape [${p.expectedShape.join(', ')}])`;
    case 'extra':
      return `unexpected tensor ${p.tensor} (shape [${p.foundShape.join(', ')}]) not used by this architecture`;
    case 'shape':
      return `tensor ${p.tensor}: expected shape [${p.expectedShape.join(', ')}], found [${p.foundShape.join(', ')}]`;
    case 'dtype':
      return `tensor ${p.tensor}: dtype ${p.foundDtype} cannot be used (supported: ${p.supportedDtypes.join(', ')})`;
  }
}

/** The checkpoint's tensors disagree with the architecture from config.json. */
export class WeightValidationError extends Error {
  override readonly name = 'WeightValidationError';
  constructor(readonly problems: readonly WeightProblem[]) {
    const shown = problems.slice(0, 20).map(describeProblem);
    const more = problems.length > 20 ? [`... and ${problems.length - 20} more`] : [];
    super(`checkpoint does not match config.json:\n  - ${[...shown, ...more].join('\n  - ')}`);
  }
}
