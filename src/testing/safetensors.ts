// Test helpers for the safetensors codec: build raw files byte by byte, expect an error code.
import { expect } from 'vitest';
import { SafetensorsError, type SafetensorsErrorCode } from '../core/safetensors/errors.ts';

/** 8-byte LE length + header text (exactly as given) + data. */
export function rawFile(header: string | Uint8Array, data: Uint8Array | number = 0, lengthField?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** Header JSON for tensors given as [name, dtype, shape, begin, end]. */
export function headerOf(entries: [string, string, number[], number, number][], metadata?: Record<string, string>): string {
  const obj: Record<string, unknown> = {};
  if (metadata) obj['__metadata__'] = metadata;
  for (const [name, dtype, shape, b, e] of entries) obj[name] = { dtype, shape, data_offsets: [b, e] };
  return JSON.stringify(obj);
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: SafetensorsErrorCode): Promise<SafetensorsError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected SafetensorsError ${code}`).toBeInstanceOf(SafetensorsError);
  expect((err as SafetensorsError).code, (err as Error).message).toBe(code);
  return err as SafetensorsError;
}
