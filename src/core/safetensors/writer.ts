// Writing safetensors: plan the layout (header + offsets) from names/dtypes/shapes alone,
// so a streaming writer can emit the header before any data exists; then encode each
// tensor's bytes. Tensors are laid out by element size, largest first (stable otherwise),
// after an 8-byte-aligned header, so every tensor is aligned for zero-copy typed-array views.
import { f32ToBf16Array, f32ToF16Array } from '../dtype/index.ts';
import { ARRAY_CTOR, type Dtype, dtypeSize, HOST_LITTLE_ENDIAN, isDtype, numelOf } from './dtypes.ts';
import { SafetensorsError } from './errors.ts';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

export interface TensorInput extends TensorSpec {
  /**
   * The dtype's typed array (see DtypeArray: F16/BF16 as Uint16Array bits, I64 as
   * BigInt64Array), or raw little-endian bytes as a Uint8Array, or — for F16/BF16 only — a
   * Float32Array, which is rounded to nearest even.
   */
  readonly data: ArrayBufferView;
}

export interface PlannedTensor extends TensorSpec {
  /** Absolute position in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface Layout {
  /** The 8-byte length prefix and the padded JSON header: the file's first bytes. */
  readonly header: Uint8Array<ArrayBuffer>;
  readonly tensors: ReadonlyMap<string, PlannedTensor>;
  readonly totalSize: number;
}

const WRITER = '<writer>';

/** Computes the header and every tensor's position. Validates names, dtypes, shapes, metadata. */
export function planSafetensors(specs: readonly TensorSpec[], metadata: Readonly<Record<string, string>> = {}, file = WRITER): Layout {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError('BAD_METADATA', file, `metadata value for ${JSON.stringify(k)} is not a string`);
  }
  const seen = new Set<string>();
  const sized = specs.map((s) => {
    if (s.name === '__metadata__') throw new SafetensorsError('DUPLICATE_NAME', file, 'tensor name is reserved', { tensor: s.name });
    if (seen.has(s.name)) throw new SafetensorsError('DUPLICATE_NAME', file, 'tensor name given twice', { tensor: s.name });
    seen.add(s.name);
    if (!isDtype(s.dtype)) throw new SafetensorsError('UNKNOWN_DTYPE', file, `unknown dtype ${String(s.dtype)}`, { tensor: s.name });
    if (!s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError('BAD_SHAPE', file, `shape [${s.shape.join(', ')}] is not non-negative integers`, { tensor: s.name });
    }
    const numel = numelOf(s.shape);
    const bytes = numel === undefined ? Infinity : numel * dtypeSize(s.dtype);
    if (!Number.isSafeInteger(bytes)) throw new SafetensorsError('BAD_SHAPE', file, 'tensor size overflows', { tensor: s.name });
    return { spec: s, bytes };
  });
  // Stable sort: largest element size first keeps every tensor aligned to its element size.
  sized.sort((a, b) => dtypeSize(b.spec.dtype) - dtypeSize(a.spec.dtype));

  // Build the JSON by hand so no name (e.g. "__proto__") is ever an object property.
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) {
    const kv = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${kv.join(',')}}`);
  }
  let offset = 0;
  const placed: { spec: TensorSpec; begin: number; bytes: number }[] = [];
  for (const { spec, bytes } of sized) {
    parts.push(
      `${JSON.stringify(spec.name)}:{"dtype":${JSON.stringify(spec.dtype)},"shape":${JSON.stringify(spec.shape)},"data_offsets":[${offset},${offset + bytes}]}`,
    );
    placed.push({ spec, begin: offset, bytes });
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8; // spaces pad the header so data starts 8-aligned
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);

  const tensors = new Map<string, PlannedTensor>();
  for (const p of placed) {
    tensors.set(p.spec.name, { name: p.spec.name, dtype: p.spec.dtype, shape: p.spec.shape, byteOffset: header.length + p.begin, byteLength: p.bytes });
  }
  return { header, tensors, totalSize: header.length + offset };
}

/** The little-endian bytes of one tensor's data, after checking it matches dtype and shape. */
export function tensorBytes(t: TensorSpec, data: ArrayBufferView, file = WRITER): Uint8Array {
  if (!HOST_LITTLE_ENDIAN) throw new SafetensorsError('BAD_DATA', file, 'big-endian hosts are not supported', { tensor: t.name });
  const numel = numelOf(t.shape) ?? Infinity;
  const expected = numel * dtypeSize(t.dtype);
  let view: ArrayBufferView = data;
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && data instanceof Float32Array) {
    if (data.length !== numel) {
      throw new SafetensorsError('BAD_DATA', file, `${data.length} values for shape [${t.shape.join(', ')}]`, { tensor: t.name });
    }
    view = t.dtype === 'F16' ? f32ToF16Array(data) : f32ToBf16Array(data);
  } else if (!(data instanceof Uint8Array) && !(data instanceof ARRAY_CTOR[t.dtype])) {
    throw new SafetensorsError('BAD_DATA', file, `${data.constructor.name} is not valid data for ${t.dtype}`, { tensor: t.name });
  }
  if (view.byteLength !== expected) {
    throw new SafetensorsError('BAD_DATA', file, `data has ${view.byteLength} bytes, ${t.dtype} [${t.shape.join(', ')}] needs ${expected}`, {
      tensor: t.name,
    });
  }
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Encodes tensors and metadata into one in-memory safetensors file. */
export function encodeSafetensors(tensors: readonly TensorInput[], metadata: Readonly<Record<string, string>> = {}): Uint8Array<ArrayBuffer> {
  const layout = planSafetensors(tensors, metadata);
  const out = new Uint8Array(layout.totalSize);
  out.set(layout.header, 0);
  for (const t of tensors) {
    const p = layout.tensors.get(t.name)!;
    out.set(tensorBytes(t, t.data), p.byteOffset);
  }
  return out;
}
