// Streaming safetensors writer for the packer: the layout is fixed from names/dtypes/shapes
// up front, the header is written first, and then each tensor is written (in any order) at
// its own offset, so only one tensor needs to be in memory at a time. Output goes to
// "<path>.partial" and is renamed into place by close(), so a crash never leaves a file
// that looks complete.
import { open, rename, rm } from 'node:fs/promises';
import {
  type Layout,
  planSafetensors,
  SafetensorsError,
  tensorBytes,
  type TensorSpec,
} from '../core/safetensors/index.ts';

export interface SafetensorsFileWriter {
  readonly layout: Layout;
  /** Writes one tensor's data (same forms as encodeSafetensors accepts). Each name exactly once. */
  write(name: string, data: ArrayBufferView): Promise<void>;
  /** Checks every tensor was written, then moves the file into place. */
  close(): Promise<void>;
  /** Discards the partial file. */
  abort(): Promise<void>;
}

export async function createSafetensorsWriter(
  path: string,
  specs: readonly TensorSpec[],
  metadata: Readonly<Record<string, string>> = {},
): Promise<SafetensorsFileWriter> {
  const layout = planSafetensors(specs, metadata, path);
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  const pending = new Set([...layout.tensors.values()].filter((t) => t.byteLength > 0).map((t) => t.name));
  const written = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const writeAt = async (bytes: Uint8Array, position: number): Promise<void> => {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  };
  try {
    await writeAt(layout.header, 0);
    await handle.truncate(layout.totalSize);
  } catch (e) {
    await handle.close();
    await rm(partial, { force: true });
    throw e;
  }

  return {
    layout,
    async write(name, data) {
      if (closed) throw new SafetensorsError('INCOMPLETE', path, 'writer already closed', { tensor: name });
      const t = layout.tensors.get(name);
      if (!t) throw new SafetensorsError('NOT_FOUND', path, 'tensor was not in the planned layout', { tensor: name });
      if (written.has(name)) throw new SafetensorsError('DUPLICATE_NAME', path, 'tensor written twice', { tensor: name });
      const bytes = tensorBytes(t, data, path);
      written.add(name); // before the await: a concurrent second write of this name is refused
      const p = writeAt(bytes, t.byteOffset);
      inFlight.add(p);
      try {
        await p;
        pending.delete(name);
      } catch (e) {
        written.delete(name); // a failed write may be retried
        throw e;
      } finally {
        inFlight.delete(p);
      }
    },
    async close() {
      if (closed) return;
      await Promise.allSettled(inFlight);
      const missing = [...pending];
      if (missing.length > 0) {
        throw new SafetensorsError('INCOMPLETE', path, `${missing.length} tensor(s) never written`, { tensor: missing[0] });
      }
      closed = true;
      await handle.close();
      await rename(partial, path);
    },
    async abort() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(inFlight);
      await handle.close();
      await rm(partial, { force: true });
    },
  };
}
