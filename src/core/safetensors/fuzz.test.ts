// Fuzz: corrupt valid files in many ways; every input must either parse (and then every
// tensor must read with the right length) or fail with a SafetensorsError. Anything else —
// a TypeError, RangeError, hang or huge allocation — is a bug.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bytesSource,
  decodeSafetensors,
  DTYPES,
  type Dtype,
  encodeSafetensors,
  openSafetensors,
  parseShardIndex,
  SafetensorsError,
  type TensorInput,
} from './index.ts';

const dtypeArb = fc.constantFrom(...(Object.keys(DTYPES) as Dtype[]));
// A small valid file: up to 4 tensors of any dtype, deterministic data, a little metadata.
const fileArb = fc
  .record({
    specs: fc.uniqueArray(
      fc.record({
        name: fc.string({ maxLength: 6 }).filter((n) => n !== '__metadata__'),
        dtype: dtypeArb,
        shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      }),
      { selector: (t) => t.name, minLength: 1, maxLength: 4 },
    ),
    metadata: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
  })
  .map(({ specs, metadata }) => {
    const inputs: TensorInput[] = specs.map((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1) * DTYPES[s.dtype].size;
      return { ...s, data: new Uint8Array(n).map((_, j) => (i * 31 + j * 7) & 0xff) };
    });
    return encodeSafetensors(inputs, metadata);
  });

// Values that probe each validation branch when they land in a header.
const weirdNumber = fc.oneof(
  fc.integer({ min: -2, max: 64 }),
  fc.constantFrom(1.5, -0, 2 ** 53, 2 ** 53 - 1, 2 ** 31, 2 ** 32, 1e20, 1e308),
);
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  weirdNumber,
  fc.array(weirdNumber, { maxLength: 4 }),
  fc.constantFrom(null, true, 'F32', 'F4', '', {}, [], [[1]], { a: 1 }),
  fc.jsonValue({ maxDepth: 2 }),
);

type Corruption =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; value: bigint }
  | { kind: 'field'; pick: number; field: string; value: unknown }
  | { kind: 'shift'; pick: number; delta: number }
  | { kind: 'nudge'; pick: number; field: 'shape' | 'data_offsets'; index: number; delta: number }
  | { kind: 'metadata'; value: unknown }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'rename'; pick: number; to: string }
  | { kind: 'header'; value: unknown }
  | { kind: 'pad'; text: string };

const w = <T,>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  w(3, fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) })),
  // Small numeric nudges keep the header plausible, reaching the size/overlap/hole checks.
  w(6, fc.record({
    kind: fc.constant('nudge' as const),
    pick: fc.nat(),
    field: fc.constantFrom('shape' as const, 'data_offsets' as const),
    index: fc.nat(3),
    delta: fc.integer({ min: -4, max: 4 }),
  })),
  // Moving a whole range keeps its size right, reaching the overlap/hole checks.
  w(3, fc.record({ kind: fc.constant('shift' as const), pick: fc.nat(), delta: fc.integer({ min: -16, max: 16 }) })),
  w(2, fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() })),
  w(2, fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) })),
  w(2, fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 9 }) })),
  w(2, fc.record({
    kind: fc.constant('length' as const),
    value: fc.oneof(fc.bigInt({ min: 0n, max: 400n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(100_000_000n, 100_000_001n, 2n ** 63n)),
  })),
  w(2, fc.record({
    kind: fc.constant('field' as const),
    pick: fc.nat(),
    field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra'),
    value: weirdValue,
  })),
  w(2, fc.record({ kind: fc.constant('metadata' as const), value: weirdValue })),
  w(2, fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() })),
  w(2, fc.record({ kind: fc.constant('rename' as const), pick: fc.nat(), to: fc.constantFrom('__metadata__', '', 'a', '\\u0061') })),
  w(2, fc.record({ kind: fc.constant('header' as const), value: weirdValue })),
  w(2, fc.record({ kind: fc.constant('pad' as const), text: fc.constantFrom(' ', '\n', 'x', '\t}', '\u0000', '\ufeff') })),
);

function withLength(header: Uint8Array, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + rest.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(rest, 8 + header.length);
  return out;
}

// Header-level edits need the header to still be JSON; otherwise they are skipped.
function editHeader(file: Uint8Array, edit: (h: Record<string, unknown>, text: string) => string): Uint8Array {
  if (file.length < 8) return file;
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > file.length) return file;
  let h: unknown;
  const text = new TextDecoder().decode(file.subarray(8, 8 + n));
  try {
    h = JSON.parse(text);
  } catch {
    return file;
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return file;
  return withLength(new TextEncoder().encode(edit(h as Record<string, unknown>, text)), file.subarray(8 + n));
}

function tensorNames(h: Record<string, unknown>): string[] {
  return Object.keys(h).filter((k) => k !== '__metadata__');
}

function apply(file: Uint8Array, c: Corruption): Uint8Array {
  const at = (i: number, len = file.length) => (len === 0 ? 0 : i % (len + 1));
  switch (c.kind) {
    case 'flip': {
      if (file.length === 0) return file;
      const out = file.slice();
      out[c.at % file.length]! ^= c.mask;
      return out;
    }
    case 'truncate':
      return file.slice(0, at(c.at, file.length - 1));
    case 'insert': {
      const i = at(c.at);
      return Uint8Array.from([...file.subarray(0, i), ...c.bytes, ...file.subarray(i)]);
    }
    case 'delete': {
      const i = at(c.at);
      return Uint8Array.from([...file.subarray(0, i), ...file.subarray(i + c.count)]);
    }
    case 'length': {
      if (file.length < 8) return file;
      const out = file.slice();
      new DataView(out.buffer).setBigUint64(0, c.value, true);
      return out;
    }
    case 'field':
      return editHeader(file, (h) => {
        const names = tensorNames(h);
        if (names.length === 0) return JSON.stringify(h);
        const entry = h[names[c.pick % names.length]!];
        if (typeof entry === 'object' && entry !== null) (entry as Record<string, unknown>)[c.field] = c.value;
        return JSON.stringify(h);
      });
    case 'shift':
      return editHeader(file, (h) => {
        const names = tensorNames(h);
        const entry = h[names[c.pick % Math.max(1, names.length)]!] as Record<string, unknown> | undefined;
        const o = entry?.['data_offsets'];
        if (Array.isArray(o) && o.length === 2) entry!['data_offsets'] = o.map((x: number) => x + c.delta);
        return JSON.stringify(h);
      });
    case 'nudge':
      return editHeader(file, (h) => {
        const names = tensorNames(h);
        const entry = h[names[c.pick % Math.max(1, names.length)]!] as Record<string, unknown> | undefined;
        const arr = entry?.[c.field];
        if (Array.isArray(arr) && arr.length > 0) {
          const i = c.index % arr.length;
          if (typeof arr[i] === 'number') arr[i] += c.delta;
        }
        return JSON.stringify(h);
      });
    case 'metadata':
      return editHeader(file, (h) => JSON.stringify({ ...h, __metadata__: c.value }));
    case 'duplicate':
      // Textually repeat an existing key (JSON.stringify could never produce this).
      return editHeader(file, (h, text) => {
        const keys = Object.keys(h);
        if (keys.length === 0) return text;
        const k = keys[c.pick % keys.length]!;
        return `${text.trimEnd().slice(0, -1)}${keys.length ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(h[k])}}`;
      });
    case 'rename':
      return editHeader(file, (h, text) => {
        const names = tensorNames(h);
        if (names.length === 0) return text;
        return text.replace(JSON.stringify(names[c.pick % names.length]), `"${c.to}"`);
      });
    case 'header':
      return editHeader(file, () => JSON.stringify(c.value) ?? 'null');
    case 'pad':
      return editHeader(file, (_h, text) => text + c.text);
  }
}

function syncOutcome(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof SafetensorsError) return e.code;
    throw e;
  }
}

async function parseAndReadAll(bytes: Uint8Array): Promise<'ok' | 'typed-error'> {
  const sync = syncOutcome(bytes); // the in-memory convenience must agree with the lazy reader
  try {
    const file = await openSafetensors(bytesSource(bytes), { name: 'fuzz.safetensors' });
    for (const info of file.tensors.values()) {
      const t = await file.read(info.name);
      if (t.data.length !== info.numel || info.byteOffset + info.byteLength > bytes.length) throw new Error('inconsistent tensor');
    }
    expect(sync).toBe('ok');
    return 'ok';
  } catch (e) {
    if (e instanceof SafetensorsError) {
      expect(sync).toBe(e.code);
      return 'typed-error';
    }
    throw e;
  }
}

describe('fuzz: corrupted files', () => {
  it('10,000 corrupted inputs: each parses and reads, or throws SafetensorsError', async () => {
    const outcomes = { ok: 0, 'typed-error': 0 };
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fileArb, fc.array(corruptionArb, { minLength: 1, maxLength: 3 }), async (file, corruptions) => {
        const bad = corruptions.reduce(apply, file);
        const r = await parseAndReadAll(bad);
        outcomes[r]++;
        if (r === 'typed-error') {
          const code = await openSafetensors(bytesSource(bad)).then(() => 'read', (e: SafetensorsError) => e.code);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(outcomes.ok + outcomes['typed-error']).toBe(10_000);
    // The corpus must reach deep into validation, not only fail at the first check.
    for (const code of ['TRUNCATED', 'HEADER_TOO_LARGE', 'HEADER_NOT_JSON', 'BAD_ENTRY', 'UNKNOWN_DTYPE', 'BAD_SHAPE', 'BAD_OFFSETS', 'SIZE_MISMATCH', 'OUT_OF_BOUNDS', 'DUPLICATE_NAME', 'DUPLICATE_KEY', 'BAD_METADATA', 'OVERLAP', 'HOLE', 'TRAILING_BYTES']) {
      expect(codes.get(code) ?? 0, `no input reached ${code}: ${JSON.stringify([...codes])}`).toBeGreaterThan(0);
    }
    expect(outcomes.ok).toBeGreaterThan(100);
    if (process.env['FUZZ_STATS']) console.log(outcomes, Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])));
  });
});

describe('fuzz: other inputs', () => {
  it('random bytes never escape as anything but SafetensorsError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.bigInt({ min: 0n, max: 80n }), async (tail, n) => {
        const bytes = new Uint8Array(8 + tail.length);
        new DataView(bytes.buffer).setBigUint64(0, n, true);
        bytes.set(tail, 8);
        await parseAndReadAll(bytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it('random index JSON parses or throws SafetensorsError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({ metadata: fc.jsonValue({ maxDepth: 1 }), weight_map: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 }))) }),
        ),
        (v) => {
          try {
            parseShardIndex(JSON.stringify(v) ?? '', 'idx');
          } catch (e) {
            if (!(e instanceof SafetensorsError)) throw e;
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
