// Parsing and validation of the safetensors header: the 8-byte little-endian length N,
// then N bytes of JSON. Everything here treats the input as hostile: every field is checked
// before it is used, sizes are compared in doubles without allocating, and every failure is
// a SafetensorsError.
import { z } from 'zod';
import { type Dtype, dtypeSize, isDtype, numelOf } from './dtypes.ts';
import { SafetensorsError } from './errors.ts';
import { findDuplicateKey } from './jsonDuplicates.ts';

/** Default cap on the header length (the reference implementation uses 100 MB too). */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly numel: number;
  /** [begin, end) relative to the start of the data buffer, as in the file. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute position of the first byte in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface Header {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in file (data offset) order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** 8 + N: where the data buffer starts. */
  readonly dataStart: number;
}

/** Reads N from the 8-byte prefix and checks it against the file size and the cap. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string, maxHeaderBytes: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError('TRUNCATED', file, `file is ${fileSize} bytes; the 8-byte header length is missing`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError('HEADER_TOO_LARGE', file, `header length ${n} exceeds the ${maxHeaderBytes}-byte cap`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError('TRUNCATED', file, `header length ${len} runs past the end of the ${fileSize}-byte file`);
  }
  return len;
}

const EntrySchema = z.strictObject({
  dtype: z.string(),
  shape: z.array(z.unknown()),
  data_offsets: z.unknown(),
});
const MetadataSchema = z.record(z.string(), z.string());

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

/** Decodes and validates header JSON bytes for a file of `fileSize` bytes. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): Header {
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;

  // The spec requires the JSON to start with '{' (no leading whitespace or BOM).
  if (headerBytes[0] !== 0x7b) throw new SafetensorsError('HEADER_NOT_JSON', file, "header does not start with '{'");
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw new SafetensorsError('HEADER_NOT_JSON', file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('HEADER_NOT_JSON', file, 'header is not valid JSON', { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsError('HEADER_NOT_JSON', file, 'header JSON is not an object'); // unreachable after the '{' check; kept as a guard
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    if (dup.depth === 1 && dup.key !== '__metadata__') {
      throw new SafetensorsError('DUPLICATE_NAME', file, 'tensor name appears twice in the header', { tensor: dup.key });
    }
    throw new SafetensorsError('DUPLICATE_KEY', file, `key ${JSON.stringify(dup.key)} appears twice`, {
      tensor: dup.topKey ?? (dup.key === '__metadata__' ? undefined : dup.key),
    });
  }

  let metadata: Record<string, string> = {};
  const infos: TensorInfo[] = [];
  // Object.entries of the parsed value (never assignment into a fresh object) so keys such
  // as "__proto__" stay ordinary names.
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!MetadataSchema.safeParse(raw).success) {
        throw new SafetensorsError('BAD_METADATA', file, '__metadata__ must be an object of string values');
      }
      metadata = Object.fromEntries(Object.entries(raw as object)) as Record<string, string>;
      continue;
    }
    infos.push(parseEntry(name, raw, dataStart, dataSize, file));
  }

  checkCoverage(infos, dataSize, file);
  return { metadata, tensors: new Map(infos.map((t) => [t.name, t])), dataStart };
}

function parseEntry(name: string, raw: unknown, dataStart: number, dataSize: number, file: string): TensorInfo {
  const fail = (code: SafetensorsError['code'], detail: string): never => {
    throw new SafetensorsError(code, file, detail, { tensor: name });
  };
  const parsed = EntrySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    return fail('BAD_ENTRY', `entry must be {dtype, shape, data_offsets} only (${issue?.message ?? 'invalid'}${at})`);
  }
  const { dtype, shape, data_offsets: offsets } = parsed.data;
  if (!isDtype(dtype)) return fail('UNKNOWN_DTYPE', `unknown dtype ${describe(dtype)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return fail('BAD_SHAPE', `shape must be non-negative integers, found ${describe(d)}`);
    }
  }
  const dims = shape as number[];
  const numel = numelOf(dims);
  if (numel === undefined) return fail('BAD_SHAPE', `element count of shape [${dims.join(', ')}] overflows`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    return fail('BAD_OFFSETS', 'data_offsets must be [begin, end] with 0 <= begin <= end integers');
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) return fail('OUT_OF_BOUNDS', `data_offsets [${begin}, ${end}] exceed the ${dataSize}-byte data buffer`);
  // numel <= 2^53 - 1 and size <= 8: the double product is at worst rounded, and then it is
  // far above any real range, so the comparison is still right.
  const bytes = numel * dtypeSize(dtype);
  if (bytes !== end - begin) {
    return fail('SIZE_MISMATCH', `shape [${dims.join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets cover ${end - begin}`);
  }
  return {
    name,
    dtype,
    shape: dims.slice(),
    numel,
    dataOffsets: [begin, end],
    byteOffset: dataStart + begin,
    byteLength: end - begin,
  };
}

// The data buffer must be exactly tiled by the tensors: sorted by offset, each starts where
// the previous ended (empty tensors may sit anywhere on a boundary), and the last ends at EOF.
function checkCoverage(infos: TensorInfo[], dataSize: number, file: string): void {
  infos.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let prev: TensorInfo | undefined;
  for (const t of infos) {
    const [begin, end] = t.dataOffsets;
    if (begin < cursor) {
      throw new SafetensorsError('OVERLAP', file, `bytes [${begin}, ${cursor}) are shared with tensor ${JSON.stringify(prev?.name)}`, {
        tensor: t.name,
      });
    }
    if (begin > cursor) {
      throw new SafetensorsError('HOLE', file, `bytes [${cursor}, ${begin}) before this tensor belong to no tensor`, { tensor: t.name });
    }
    cursor = end;
    prev = t;
  }
  if (cursor !== dataSize) {
    throw new SafetensorsError('TRAILING_BYTES', file, `${dataSize - cursor} bytes after the last tensor belong to no tensor`);
  }
}
