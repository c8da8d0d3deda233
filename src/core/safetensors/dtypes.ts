// The safetensors dtype names this codec understands, their sizes, and the typed array each
// is read into. Sub-byte dtypes (F4, F6_*) from newer spec revisions are rejected as unknown.

export const DTYPES = {
  F64: { size: 8 },
  F32: { size: 4 },
  F16: { size: 2 }, // read as raw bits (Uint16Array); see toFloat32 / core/dtype
  BF16: { size: 2 }, // read as raw bits (Uint16Array)
  I64: { size: 8 }, // read as BigInt64Array
  U64: { size: 8 }, // read as BigUint64Array
  I32: { size: 4 },
  U32: { size: 4 },
  I16: { size: 2 },
  U16: { size: 2 },
  I8: { size: 1 },
  U8: { size: 1 },
  BOOL: { size: 1 }, // read as Uint8Array (0/1)
  F8_E4M3: { size: 1 }, // raw bytes (Uint8Array)
  F8_E5M2: { size: 1 }, // raw bytes (Uint8Array)
} as const;

export type Dtype = keyof typeof DTYPES;

export function isDtype(s: string): s is Dtype {
  return Object.hasOwn(DTYPES, s);
}

export function dtypeSize(d: Dtype): number {
  return DTYPES[d].size;
}

/** The typed array a tensor of each dtype is returned as. */
export interface DtypeArray {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
  F8_E4M3: Uint8Array;
  F8_E5M2: Uint8Array;
}
export type TensorData = DtypeArray[Dtype];

type Ctor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
  new (length: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

export const ARRAY_CTOR: { readonly [D in Dtype]: Ctor } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
};

/** Element count of a shape, or undefined if it is not exact in a double (> 2^53 - 1). */
export function numelOf(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n;
}

// The format is little-endian; typed arrays use host order. Every platform a browser or Node
// runs on today is little-endian; refuse loudly rather than return byte-swapped numbers.
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
