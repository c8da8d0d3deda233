import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  blobSource,
  bytesSource,
  decodeSafetensors,
  DTYPES,
  type Dtype,
  encodeSafetensors,
  openSafetensors,
  toFloat32,
  type TensorInput,
} from './index.ts';
import { f32ToF16Bits } from '../dtype/index.ts';
import { rawFile } from '../../testing/safetensors.ts';
import { ARRAY_CTOR } from './dtypes.ts';

const asBytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

describe('round trip per dtype', () => {
  const cases: TensorInput[] = [
    { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, Infinity, -0, 1e-40]) },
    { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0x8001]) },
    { name: 'bf16', dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xff80]) },
    { name: 'i8', dtype: 'I8', shape: [4], data: new Int8Array([-128, -1, 0, 127]) },
    { name: 'u8', dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) },
    { name: 'i32', dtype: 'I32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { name: 'f64', dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
    { name: 'empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = encodeSafetensors([c], { format: 'pt' });
      const file = await openSafetensors(bytesSource(bytes));
      expect(file.metadata).toEqual({ format: 'pt' });
      const t = await file.read(c.name);
      expect(t.dtype).toBe(c.dtype);
      expect(t.shape).toEqual(c.shape);
      expect(t.data.constructor).toBe(c.data.constructor);
      expect(asBytes(t.data)).toEqual(asBytes(c.data));
    });
  }

  it('all together, through every reader path', async () => {
    const bytes = encodeSafetensors(cases, { a: 'b', '': 'é' });
    const viaSync = decodeSafetensors(bytes);
    const viaBlob = await openSafetensors(blobSource(new Blob([bytes])));
    expect(viaSync.metadata).toEqual({ a: 'b', '': 'é' });
    for (const c of cases) {
      expect(asBytes(viaSync.tensors.get(c.name)!.data)).toEqual(asBytes(c.data));
      expect(asBytes((await viaBlob.read(c.name)).data)).toEqual(asBytes(c.data));
    }
  });

  it('lays tensors out aligned, so in-memory reads are zero-copy views', async () => {
    const bytes = encodeSafetensors([
      { name: 'b', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      { name: 'a', dtype: 'F64', shape: [1], data: new Float64Array([1]) },
      { name: 'c', dtype: 'F16', shape: [1], data: new Uint16Array([1]) },
    ]);
    const file = await openSafetensors(bytesSource(bytes));
    expect(file.header.dataStart % 8).toBe(0);
    expect([...file.tensors.keys()]).toEqual(['a', 'c', 'b']);
    const a = await file.read('a');
    expect(a.data.buffer).toBe(bytes.buffer);
  });

  it('copies when a source returns misaligned bytes', async () => {
    const inner = encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
    const shifted = new Uint8Array(inner.length + 1);
    shifted.set(inner, 1);
    const file = await openSafetensors(bytesSource(shifted.subarray(1)));
    expect(Array.from((await file.read('x')).data as Float32Array)).toEqual([1, 2]);
  });

  it('writes F16/BF16 from Float32Array (rounded) and widens back with toFloat32', async () => {
    const src = new Float32Array([1, 0.1, -65504, 1e6]);
    const { tensors } = decodeSafetensors(
      encodeSafetensors([
        { name: 'h', dtype: 'F16', shape: [4], data: src },
        { name: 'b', dtype: 'BF16', shape: [4], data: src },
        { name: 'i', dtype: 'I64', shape: [2], data: new BigInt64Array([3n, -4n]) },
      ]),
    );
    expect(Array.from(tensors.get('h')!.data as Uint16Array)).toEqual(Array.from(src, f32ToF16Bits));
    expect(Array.from(toFloat32(tensors.get('h')!))).toEqual([1, Math.fround(0.0999755859375), -65504, Infinity]);
    expect(Array.from(toFloat32(tensors.get('b')!))).toEqual([1, 0.10009765625, -65536, 999424]);
    expect(Array.from(toFloat32(tensors.get('i')!))).toEqual([3, -4]);
  });

  it('keeps awkward names ordinary ("__proto__", escapes, lone surrogates)', () => {
    const names = ['__proto__', 'constructor', 'a"b\\c\n', '\ud800', ''];
    const bytes = encodeSafetensors(names.map((name) => ({ name, dtype: 'U8', shape: [1], data: new Uint8Array([1]) })), {
      __proto__: 'x',
    } as Record<string, string>);
    const { tensors } = decodeSafetensors(bytes);
    expect([...tensors.keys()].sort()).toEqual([...names].sort());
  });
});

describe('known bytes', () => {
  // Hand-built: {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16",...}}
  const header = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}';
  const data = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xbc];

  it('parses a hand-built file', async () => {
    const file = await openSafetensors(bytesSource(rawFile(header, new Uint8Array(data))), { name: 'hand.safetensors' });
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.info('w')).toMatchObject({ dtype: 'F32', shape: [2], dataOffsets: [0, 8], byteOffset: 8 + header.length, byteLength: 8 });
    expect(Array.from((await file.read('w')).data as Float32Array)).toEqual([1, -2]);
    expect(Array.from(toFloat32(await file.read('h')))).toEqual([1, -1]);
  });

  it('writes exactly the expected bytes', () => {
    const out = encodeSafetensors(
      [
        { name: 'h', dtype: 'F16', shape: [1, 2], data: new Uint16Array([0x3c00, 0xbc00]) },
        { name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) },
      ],
      { format: 'pt' },
    );
    const json = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(Array.from(out)).toEqual(Array.from(rawFile(padded, new Uint8Array(data))));
  });
});

// ---- property: write -> read is the identity --------------------------------------------
const dtypeArb = fc.constantFrom(...(Object.keys(DTYPES) as Dtype[]));
const tensorArb = fc
  .record({
    name: fc.string({ unit: 'binary', maxLength: 12 }).filter((n) => n !== '__metadata__'),
    dtype: dtypeArb,
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  })
  .chain((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1) * DTYPES[s.dtype].size;
    return fc.record({ spec: fc.constant(s), bytes: fc.uint8Array({ minLength: n, maxLength: n }), asTyped: fc.boolean() });
  });

describe('property: round trip', () => {
  it('random tensors, dtypes, shapes and metadata survive write -> read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(tensorArb, { selector: (t) => t.spec.name, maxLength: 6 }),
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 4 }),
        async (ts, metadata) => {
          // Data as raw bytes or as the dtype's own typed array (over an aligned copy).
          const inputs: TensorInput[] = ts.map(({ spec, bytes, asTyped }) => ({
            ...spec,
            data: asTyped ? new ARRAY_CTOR[spec.dtype](bytes.slice().buffer, 0, bytes.length / DTYPES[spec.dtype].size) : bytes,
          }));
          const file = await openSafetensors(bytesSource(encodeSafetensors(inputs, metadata)));
          expect(file.metadata).toEqual({ ...metadata });
          expect(file.tensors.size).toBe(ts.length);
          for (const { spec, bytes } of ts) {
            const t = await file.read(spec.name);
            expect(t.dtype).toBe(spec.dtype);
            expect(t.shape).toEqual(spec.shape);
            expect(asBytes(t.data)).toEqual(bytes);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
