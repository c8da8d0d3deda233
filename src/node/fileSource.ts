// Node adapter: a ByteSource over a file handle. Reads are positional (pread), so only the
// header and the tensors actually asked for are ever read from disk.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type ByteSource,
  DEFAULT_INDEX_NAME,
  type OpenOptions,
  openSafetensors,
  openSharded,
  parseShardIndex,
  type SafetensorsFile,
  type ShardedCheckpoint,
} from '../core/safetensors/index.ts';

export interface FileSource extends ByteSource {
  readonly path: string;
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return { path, size, read: (offset, length) => readAt(handle, offset, length), close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

// A short read only happens at EOF (the file shrank); the reader turns that into TRUNCATED.
async function readAt(handle: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) return buf.subarray(0, done);
    done += bytesRead;
  }
  return buf;
}

/** Opens one .safetensors file (header only). Call close() when done. */
export async function openSafetensorsFile(
  path: string,
  options: Omit<OpenOptions, 'name'> = {},
): Promise<SafetensorsFile & { close(): Promise<void> }> {
  const src = await openFileSource(path);
  try {
    const file = await openSafetensors(src, { ...options, name: path });
    return { ...file, close: () => src.close() };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/**
 * Opens a sharded checkpoint from its index file; shards are looked up next to it.
 * A shard that does not exist is MISSING_SHARD. Call close() when done.
 */
export async function openShardedCheckpoint(
  indexPath: string,
  options: Omit<OpenOptions, 'name'> = {},
): Promise<ShardedCheckpoint & { close(): Promise<void> }> {
  const index = parseShardIndex(new Uint8Array(await readFile(indexPath)), indexPath);
  const dir = dirname(indexPath);
  const opened: FileSource[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  };
  try {
    const ckpt = await openSharded(
      index,
      async (file) => {
        try {
          const src = await openFileSource(join(dir, file));
          opened.push(src);
          return src;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw e;
        }
      },
      { ...options, name: indexPath.endsWith(DEFAULT_INDEX_NAME) ? DEFAULT_INDEX_NAME : indexPath },
    );
    return { ...ckpt, close };
  } catch (e) {
    await close();
    throw e;
  }
}
