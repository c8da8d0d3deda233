// Random-access byte sources. The reader only ever asks for the 8-byte prefix, the header,
// and one tensor's range at a time, so multi-GB files never need to be resident.

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset + length). Must return exactly `length` bytes when the range is
   * within `size`; a shorter result is reported by the reader as TRUNCATED. The returned
   * array may be a view into shared memory (in-memory sources return subarrays).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes already in memory. Reads are zero-copy views. */
export function bytesSource(data: Uint8Array | ArrayBuffer): ByteSource & { readonly bytes: Uint8Array } {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return {
    bytes,
    size: bytes.length,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A source over a Blob/File (browser drag & drop, fetch().blob()); reads slice lazily. */
export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}
