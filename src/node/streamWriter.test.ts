import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, SafetensorsError, type TensorInput } from '../core/safetensors/index.ts';
import { openSafetensorsFile } from './fileSource.ts';
import { createSafetensorsWriter } from './streamWriter.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinmerge-sw-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inputs: TensorInput[] = [
  { name: 'w', dtype: 'F16', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'b', dtype: 'F32', shape: [2], data: new Float32Array([0.5, -0.5]) },
  { name: 'q', dtype: 'I8', shape: [3], data: new Int8Array([-1, 0, 1]) },
  { name: 'e', dtype: 'F32', shape: [0], data: new Float32Array(0) },
];
const specs = inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
const exists = (p: string) => access(p).then(() => true, () => false);

describe('createSafetensorsWriter', () => {
  it('writes tensors one at a time, in any order, byte-identical to encodeSafetensors', async () => {
    const path = join(dir, 'out.safetensors');
    const w = await createSafetensorsWriter(path, specs, { format: 'pt' });
    for (const t of [...inputs].reverse()) await w.write(t.name, t.data);
    expect(await exists(path)).toBe(false); // only the .partial exists until close
    await w.close();
    expect(new Uint8Array(await readFile(path))).toEqual(encodeSafetensors(inputs, { format: 'pt' }));
    expect(await exists(`${path}.partial`)).toBe(false);
    const file = await openSafetensorsFile(path);
    expect(Array.from((await file.read('q')).data as Int8Array)).toEqual([-1, 0, 1]);
    await file.close();
  });

  it('refuses misuse with typed errors and leaves nothing behind on abort', async () => {
    const path = join(dir, 'bad.safetensors');
    const w = await createSafetensorsWriter(path, specs);
    await expect(w.write('nope', new Uint8Array(1))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(w.write('b', new Float32Array(3))).rejects.toMatchObject({ code: 'BAD_DATA' });
    await w.write('b', new Float32Array(2));
    await expect(w.write('b', new Float32Array(2))).rejects.toMatchObject({ code: 'DUPLICATE_NAME' });
    const err = await w.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).code).toBe('INCOMPLETE');
    await w.abort();
    expect(await exists(path)).toBe(false);
    expect(await exists(`${path}.partial`)).toBe(false);
  });

  it('validates the plan before creating any file', async () => {
    const path = join(dir, 'dup.safetensors');
    await expect(createSafetensorsWriter(path, [specs[0]!, specs[0]!])).rejects.toMatchObject({ code: 'DUPLICATE_NAME' });
    expect(await exists(`${path}.partial`)).toBe(false);
  });
});
