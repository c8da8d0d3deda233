// One error type for everything that can be wrong with a safetensors file, its index, or
// writer input. Callers branch on `code`; the message names the file and tensor for humans.

export type SafetensorsErrorCode =
  | 'TRUNCATED' // file shorter than its header or data claim (or shrank while reading)
  | 'HEADER_TOO_LARGE' // header length field above the cap
  | 'HEADER_NOT_JSON' // not UTF-8, not a JSON object, or not starting with '{'
  | 'BAD_ENTRY' // tensor entry is not {dtype, shape, data_offsets}
  | 'BAD_METADATA' // __metadata__ is not a string -> string map
  | 'UNKNOWN_DTYPE'
  | 'BAD_SHAPE' // not an array of non-negative safe integers, or element count overflows
  | 'BAD_OFFSETS' // data_offsets not [begin, end] safe integers with begin <= end
  | 'SIZE_MISMATCH' // shape x dtype size != end - begin
  | 'OUT_OF_BOUNDS' // data_offsets beyond the data buffer
  | 'OVERLAP'
  | 'HOLE' // bytes between tensors not covered by any tensor
  | 'TRAILING_BYTES' // bytes after the last tensor
  | 'DUPLICATE_NAME' // tensor name twice (in a header, across shards, or in writer input)
  | 'DUPLICATE_KEY' // any other duplicated JSON key
  | 'NOT_FOUND' // asked for a tensor that does not exist
  | 'BAD_INDEX' // model.safetensors.index.json malformed
  | 'MISSING_SHARD' // index names a shard file that cannot be found
  | 'INDEX_MISMATCH' // index and shard headers disagree
  | 'BAD_DATA' // writer: data does not match dtype/shape
  | 'INCOMPLETE'; // streaming writer closed before every tensor was written

const MAX_NAME_IN_MESSAGE = 200;

function quote(name: string): string {
  const s = name.length > MAX_NAME_IN_MESSAGE ? `${name.slice(0, MAX_NAME_IN_MESSAGE)}…` : name;
  return JSON.stringify(s);
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  readonly code: SafetensorsErrorCode;
  readonly file: string;
  readonly tensor: string | undefined;

  constructor(
    code: SafetensorsErrorCode,
    file: string,
    detail: string,
    options: { tensor?: string | undefined; cause?: unknown } = {},
  ) {
    const where = options.tensor === undefined ? quote(file) : `${quote(file)}, tensor ${quote(options.tensor)}`;
    super(`${where}: ${detail} [${code}]`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = file;
    this.tensor = options.tensor;
  }
}

export function isSafetensorsError(e: unknown, code?: SafetensorsErrorCode): e is SafetensorsError {
  return e instanceof SafetensorsError && (code === undefined || e.code === code);
}
