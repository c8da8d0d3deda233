// Lazy reader: parses the header once, then reads tensors on demand from a ByteSource.
import { ARRAY_CTOR, type Dtype, type DtypeArray, HOST_LITTLE_ENDIAN, type TensorData } from './dtypes.ts';
import { SafetensorsError } from './errors.ts';
import { DEFAULT_MAX_HEADER_BYTES, type Header, parseHeader, readHeaderLength, type TensorInfo } from './header.ts';
import { bytesSource, type ByteSource } from './source.ts';

export interface Tensor<D extends Dtype = Dtype> {
  readonly name: string;
  readonly dtype: D;
  readonly shape: readonly number[];
  /** F16/BF16 come back as raw bits (Uint16Array), I64 as BigInt64Array: see DtypeArray. */
  readonly data: DtypeArray[D];
}

/** What single files and sharded checkpoints both offer. */
export interface TensorReader {
  /** Tensor infos by name, in data order (per shard, for sharded checkpoints). */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, unknown>>;
  info(name: string): TensorInfo;
  /** The tensor's raw little-endian bytes (may be a view into the source's memory). */
  readBytes(name: string): Promise<Uint8Array>;
  read(name: string): Promise<Tensor>;
}

export interface SafetensorsFile extends TensorReader {
  /** Name used in error messages (a file name or URL). */
  readonly file: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly header: Header;
  readonly source: ByteSource;
}

export interface OpenOptions {
  /** Shown in error messages. Default "<memory>". */
  name?: string;
  /** Cap on the header length field. Default 100 MB. */
  maxHeaderBytes?: number;
}

async function readExactly(source: ByteSource, offset: number, length: number, file: string, what: string): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new SafetensorsError('TRUNCATED', file, `${what}: wanted ${length} bytes at ${offset}, got ${bytes.length}`);
  }
  return bytes;
}

/** Parses the header of a source (reads 8 + N bytes, nothing more). */
export async function openSafetensors(source: ByteSource, options: OpenOptions = {}): Promise<SafetensorsFile> {
  const file = options.name ?? '<memory>';
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (source.size < 8) throw new SafetensorsError('TRUNCATED', file, `file is ${source.size} bytes; the 8-byte header length is missing`);
  const prefix = await readExactly(source, 0, 8, file, 'header length');
  const n = readHeaderLength(prefix, source.size, file, max);
  const headerBytes = await readExactly(source, 8, n, file, 'header');
  return makeFile(parseHeader(headerBytes, source.size, file), source, file);
}

/** Synchronous convenience for bytes in memory: parse the header and decode every tensor. */
export function decodeSafetensors(
  data: Uint8Array | ArrayBuffer,
  options: OpenOptions = {},
): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  const file = options.name ?? '<memory>';
  const { bytes } = bytesSource(data);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, file, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length, file);
  const tensors = new Map<string, Tensor>();
  for (const t of header.tensors.values()) {
    tensors.set(t.name, toTensor(t, bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength), file));
  }
  return { metadata: { ...header.metadata }, tensors };
}

function makeFile(header: Header, source: ByteSource, file: string): SafetensorsFile {
  const info = (name: string): TensorInfo => {
    const t = header.tensors.get(name);
    if (!t) throw new SafetensorsError('NOT_FOUND', file, 'no such tensor', { tensor: name });
    return t;
  };
  const readBytes = async (name: string): Promise<Uint8Array> => {
    const t = info(name);
    return readExactly(source, t.byteOffset, t.byteLength, file, `tensor ${JSON.stringify(name)}`);
  };
  return {
    file,
    header,
    source,
    metadata: header.metadata,
    tensors: header.tensors,
    info,
    readBytes,
    read: async (name) => toTensor(info(name), await readBytes(name), file),
  };
}

/** Wraps raw bytes in the dtype's typed array: a view when aligned, otherwise a copy. */
export function toTensor(t: TensorInfo, bytes: Uint8Array, file: string): Tensor {
  if (!HOST_LITTLE_ENDIAN) throw new SafetensorsError('BAD_DATA', file, 'big-endian hosts are not supported', { tensor: t.name });
  const Ctor = ARRAY_CTOR[t.dtype];
  let data: TensorData;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    data = new Ctor(bytes.buffer, bytes.byteOffset, t.numel);
  } else {
    data = new Ctor(t.numel);
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  }
  return { name: t.name, dtype: t.dtype, shape: t.shape, data };
}
