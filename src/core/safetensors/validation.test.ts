import { describe, expect, it } from 'vitest';
import { bytesSource, type ByteSource, encodeSafetensors, openSafetensors, decodeSafetensors, SafetensorsError, type SafetensorsErrorCode } from './index.ts';
import { expectCode, headerOf, rawFile } from '../../testing/safetensors.ts';

const open = (bytes: Uint8Array, name = 'bad.safetensors') => openSafetensors(bytesSource(bytes), { name });

// [description, file bytes, expected code, expected tensor in the error]
const f32 = (name: string, b: number, e: number, shape = [(e - b) / 4]): [string, string, number[], number, number] => [name, 'F32', shape, b, e];
const cases: [string, Uint8Array, SafetensorsErrorCode, string?][] = [
  ['empty file', new Uint8Array(0), 'TRUNCATED'],
  ['7-byte file', new Uint8Array(7), 'TRUNCATED'],
  ['header length beyond the file', rawFile('{}', 0, 100n), 'TRUNCATED'],
  ['header length 2^64-1', rawFile('{}', 0, 2n ** 64n - 1n), 'HEADER_TOO_LARGE'],
  ['header length just above 100 MB', rawFile('{}', 0, 100_000_001n), 'HEADER_TOO_LARGE'],
  ['zero-length header', rawFile(''), 'HEADER_NOT_JSON'],
  ['leading whitespace', rawFile(' {}'), 'HEADER_NOT_JSON'],
  ['header is an array', rawFile('[]'), 'HEADER_NOT_JSON'],
  ['not JSON', rawFile('{"a":'), 'HEADER_NOT_JSON'],
  ['JSON then garbage', rawFile('{} x'), 'HEADER_NOT_JSON'],
  ['invalid UTF-8', rawFile(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'HEADER_NOT_JSON'],
  ['entry is a number', rawFile('{"a":5}'), 'BAD_ENTRY', 'a'],
  ['entry misses data_offsets', rawFile('{"a":{"dtype":"F32","shape":[]}}'), 'BAD_ENTRY', 'a'],
  ['entry has an extra key', rawFile('{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":1}}', 1), 'BAD_ENTRY', 'a'],
  ['dtype not a string', rawFile('{"a":{"dtype":4,"shape":[],"data_offsets":[0,4]}}', 4), 'BAD_ENTRY', 'a'],
  ['shape not an array', rawFile('{"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}}', 4), 'BAD_ENTRY', 'a'],
  ['unknown dtype', rawFile(headerOf([['a', 'F128', [1], 0, 16]]), 16), 'UNKNOWN_DTYPE', 'a'],
  ['sub-byte dtype', rawFile(headerOf([['a', 'F4', [2], 0, 1]]), 1), 'UNKNOWN_DTYPE', 'a'],
  ['negative dim', rawFile(headerOf([['a', 'F32', [-1], 0, 0]])), 'BAD_SHAPE', 'a'],
  ['fractional dim', rawFile(headerOf([['a', 'F32', [1.5], 0, 6]]), 6), 'BAD_SHAPE', 'a'],
  ['string dim', rawFile('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', 4), 'BAD_SHAPE', 'a'],
  ['dim 1e400 (Infinity)', rawFile('{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}', 4), 'BAD_SHAPE', 'a'],
  ['dim 2^53', rawFile(headerOf([['a', 'U8', [2 ** 53], 0, 4]]), 4), 'BAD_SHAPE', 'a'],
  ['element count overflows 2^53', rawFile(headerOf([['a', 'U8', [2 ** 30, 2 ** 30, 2 ** 30], 0, 4]]), 4), 'BAD_SHAPE', 'a'],
  ['offsets of length 1', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', 1), 'BAD_OFFSETS', 'a'],
  ['offsets reversed', rawFile(headerOf([['a', 'U8', [1], 2, 1]]), 2), 'BAD_OFFSETS', 'a'],
  ['negative offset', rawFile(headerOf([['a', 'U8', [1], -1, 0]]), 1), 'BAD_OFFSETS', 'a'],
  ['string offsets', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":["0","1"]}}', 1), 'BAD_OFFSETS', 'a'],
  ['offsets beyond the data', rawFile(headerOf([f32('a', 0, 8)]), 4), 'OUT_OF_BOUNDS', 'a'],
  ['huge shape, tiny file (no allocation)', rawFile(headerOf([['a', 'F32', [1e9], 0, 4]]), 4), 'SIZE_MISMATCH', 'a'],
  ['shape x dtype != range', rawFile(headerOf([['a', 'F16', [3], 0, 8]]), 8), 'SIZE_MISMATCH', 'a'],
  ['overlap', rawFile(headerOf([f32('a', 0, 8), f32('b', 4, 12)]), 12), 'OVERLAP', 'b'],
  ['identical ranges', rawFile(headerOf([f32('a', 0, 8), f32('b', 0, 8)]), 8), 'OVERLAP', 'b'],
  ['empty tensor inside another', rawFile(headerOf([f32('a', 0, 8), f32('b', 4, 4, [0])]), 8), 'OVERLAP', 'b'],
  ['hole between tensors', rawFile(headerOf([f32('a', 0, 4), f32('b', 8, 12)]), 12), 'HOLE', 'b'],
  ['hole at the start', rawFile(headerOf([f32('a', 4, 8)]), 8), 'HOLE', 'a'],
  ['trailing bytes', rawFile(headerOf([f32('a', 0, 4)]), 5), 'TRAILING_BYTES'],
  ['bytes but no tensors', rawFile('{}', 1), 'TRAILING_BYTES'],
  ['duplicate tensor name', rawFile(`{"a":${JSON.stringify({ dtype: 'U8', shape: [1], data_offsets: [0, 1] })},"a":${JSON.stringify({ dtype: 'U8', shape: [1], data_offsets: [1, 2] })}}`, 2), 'DUPLICATE_NAME', 'a'],
  ['duplicate name hidden by an escape', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), 'DUPLICATE_NAME', 'a'],
  ['duplicate key inside an entry', rawFile('{"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), 'DUPLICATE_KEY', 'a'],
  ['duplicate __metadata__', rawFile('{"__metadata__":{},"__metadata__":{}}'), 'DUPLICATE_KEY'],
  ['__metadata__ with a number value', rawFile('{"__metadata__":{"k":1}}'), 'BAD_METADATA'],
  ['__metadata__ an array', rawFile('{"__metadata__":["a"]}'), 'BAD_METADATA'],
  ['__metadata__ null', rawFile('{"__metadata__":null}'), 'BAD_METADATA'],
];

describe('rejects malformed files with typed errors', () => {
  for (const [what, bytes, code, tensor] of cases) {
    it(`${what} -> ${code}`, async () => {
      const err = await expectCode(open(bytes), code);
      expect(err.file).toBe('bad.safetensors');
      expect(err.tensor).toBe(tensor);
      expect(err.message).toContain('bad.safetensors');
      if (tensor !== undefined) expect(err.message).toContain(JSON.stringify(tensor));
      // The sync path agrees.
      await expectCode(() => decodeSafetensors(bytes, { name: 'bad.safetensors' }), code);
    });
  }
});

describe('accepts legal corner cases', () => {
  it('tensors listed out of data order, empty tensors on boundaries, header padding', async () => {
    const h = headerOf([f32('b', 4, 8), ['e', 'F32', [0], 8, 8], f32('a', 0, 4), ['z', 'U8', [3, 0], 0, 0]]) + '   ';
    const file = await open(rawFile(h, 8));
    expect([...file.tensors.keys()]).toEqual(['z', 'a', 'b', 'e']);
  });
  it('an empty file {} with no data', async () => {
    const file = await open(rawFile('{}'));
    expect(file.tensors.size).toBe(0);
    expect(file.metadata).toEqual({});
  });
  it('honours a custom header cap', async () => {
    await expectCode(openSafetensors(bytesSource(rawFile('{}     ')), { maxHeaderBytes: 4 }), 'HEADER_TOO_LARGE');
  });
});

describe('reading', () => {
  const good = encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
  it('unknown tensor -> NOT_FOUND', async () => {
    const file = await open(good);
    await expectCode(file.read('nope'), 'NOT_FOUND');
    await expectCode(() => file.info('nope'), 'NOT_FOUND');
  });
  it('a source that shrank after opening -> TRUNCATED', async () => {
    const inner = bytesSource(good);
    const shrinking: ByteSource = { size: good.length, read: async (o, l) => (o === 0 ? inner.read(o, l) : (await inner.read(o, l)).subarray(1)) };
    const file = await openSafetensors(shrinking, { name: 's' }).catch((e: unknown) => e);
    expect(file).toBeInstanceOf(SafetensorsError); // the header read is already short
    const lateShrink: ByteSource = { size: good.length, read: async (o, l) => (o + l === good.length && l === 16 ? new Uint8Array(3) : inner.read(o, l)) };
    const f2 = await openSafetensors(lateShrink);
    await expectCode(f2.read('x'), 'TRUNCATED');
  });
});

describe('writer input validation', () => {
  const t = (over: object) => ({ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array(2), ...over }) as never;
  it.each([
    ['duplicate names', 'DUPLICATE_NAME', [t({}), t({})]],
    ['reserved name', 'DUPLICATE_NAME', [t({ name: '__metadata__' })]],
    ['unknown dtype', 'UNKNOWN_DTYPE', [t({ dtype: 'F128' })]],
    ['negative dim', 'BAD_SHAPE', [t({ shape: [-2] })]],
    ['overflowing shape', 'BAD_SHAPE', [t({ shape: [2 ** 40, 2 ** 40] })]],
    ['too little data', 'BAD_DATA', [t({ data: new Float32Array(1) })]],
    ['wrong array kind', 'BAD_DATA', [t({ data: new Int32Array(2) })]],
    ['f32 for I8', 'BAD_DATA', [t({ dtype: 'I8', data: new Float32Array(2) })]],
  ] as const)('%s -> %s', async (_w, code, inputs) => {
    await expectCode(() => encodeSafetensors(inputs), code);
  });
  it('non-string metadata -> BAD_METADATA', async () => {
    await expectCode(() => encodeSafetensors([], { k: 1 } as never), 'BAD_METADATA');
  });
});
