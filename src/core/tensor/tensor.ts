// A minimal dense float32 tensor: shape + row-major data. Enough for the method's math;
// the safetensors codec has its own (dtype-carrying) Tensor type.

export interface F32Tensor {
  readonly shape: readonly number[];
  /** Row-major (C order) values. */
  readonly data: Float32Array;
}

/** Number of elements of a shape ([] is a scalar: 1). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function tensor(shape: readonly number[], data?: Float32Array): F32Tensor {
  const n = numel(shape);
  const d = data ?? new Float32Array(n);
  if (d.length !== n) throw new RangeError(`data has ${d.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  return { shape: [...shape], data: d };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Index of the first NaN or ±Inf element, or -1 when every element is finite. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** The message every non-finite check uses: "<what>: non-finite value NaN at index 3". */
export function nonFiniteMessage(data: ArrayLike<number>, index: number): string {
  return `non-finite value ${data[index]} at index ${index}`;
}

/**
 * Throws if any element is NaN or ±Inf, naming the tensor and the first bad index. The one weight
 * check of the CLI (pack's readFinite, export) and the PEFT import; `what` names the file and tensor.
 */
export function assertFinite(data: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new RangeError(`${what}: ${nonFiniteMessage(data, i)}`);
}

type Elements = Float32Array | Uint16Array | Int8Array;

/**
 * Row-major transpose of a [rows, cols] matrix into [cols, rows] (into `out` when given: no
 * allocation). Any element type: packed float16 bits and int8 move as they are.
 */
export function transpose<T extends Elements>(data: T, rows: number, cols: number, out: T = new (data.constructor as new (n: number) => T)(rows * cols)): T {
  if (data.length !== rows * cols) throw new RangeError(`transpose: ${data.length} elements is not ${rows}x${cols}`);
  if (out.length !== rows * cols) throw new RangeError(`transpose: output has ${out.length} elements, not ${rows}x${cols}`);
  for (let i = 0; i < rows; i++) {
    const ri = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[ri + j]!;
  }
  return out;
}
