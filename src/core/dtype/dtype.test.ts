import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bf16BitsToF32,
  bf16ToF32Array,
  f16BitsToF32,
  f16ToF32Array,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16Array,
  f32ToBf16Bits,
  f32ToF16Array,
  f32ToF16Bits,
} from './index.ts';

// ---- slow, obviously-correct references ---------------------------------------------------
// A format with `mantBits` stored mantissa bits and exponent bias `bias`: the value of each
// non-negative finite bit pattern computed with plain arithmetic (exact in doubles).
function valueOf(bits: number, mantBits: number, expBits: number): number {
  const bias = 2 ** (expBits - 1) - 1;
  const sign = bits >>> (mantBits + expBits) ? -1 : 1;
  const exp = (bits >>> mantBits) & (2 ** expBits - 1);
  const mant = bits & (2 ** mantBits - 1);
  if (exp === 2 ** expBits - 1) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
}

// Round a double to the nearest entry of the sorted positive value table (ties: even bit
// pattern). The table's last entry is the "next binade" value at the Inf bit pattern, so
// rounding up to it is overflow to Inf, exactly as IEEE's unbounded-exponent rule says.
function makeRef(mantBits: number, expBits: number) {
  const infBits = (2 ** expBits - 1) << mantBits;
  const vals: number[] = [];
  for (let b = 0; b < infBits; b++) vals.push(valueOf(b, mantBits, expBits));
  const bias = 2 ** (expBits - 1) - 1;
  vals.push(2 ** (bias + 1)); // virtual value at infBits
  const signBit = 1 << (mantBits + expBits);
  return (x: number): number => {
    if (Number.isNaN(x)) return NaN;
    const neg = x < 0 || Object.is(x, -0);
    const a = Math.abs(x);
    let r: number;
    if (a >= vals[infBits]!) r = infBits;
    else {
      let lo = 0;
      let hi = infBits; // vals[lo] <= a < vals[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (vals[mid]! <= a) lo = mid;
        else hi = mid;
      }
      const dl = a - vals[lo]!;
      const dh = vals[hi]! - a;
      r = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
    }
    return neg ? r | signBit : r;
  };
}
const refF16 = makeRef(10, 5);
const refBf16 = makeRef(7, 8);

const f32v = new Float32Array(1);
const u32v = new Uint32Array(f32v.buffer);
const fromBits = (u: number): number => {
  u32v[0] = u;
  return f32v[0]!;
};

function checkAgainstRef(u: number, conv: (u: number) => number, ref: (x: number) => number): void {
  const x = fromBits(u);
  const got = conv(u);
  const want = ref(x);
  if (Number.isNaN(want)) {
    // NaN must stay NaN: exponent all ones, mantissa non-zero.
    expect(Number.isNaN(conv === f32BitsToF16Bits ? f16BitsToF32(got) : bf16BitsToF32(got))).toBe(true);
  } else if (got !== want) {
    throw new Error(`bits 0x${u.toString(16)} (${x}): got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
  }
}

// Deterministic PRNG for large random sweeps (fast-check drives the smaller property runs).
function xorshift(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

describe.each([
  ['f16', 10, 5, f16BitsToF32, f32BitsToF16Bits, refF16, f16ToF32Array, f32ToF16Array, f32ToF16Bits],
  ['bf16', 7, 8, bf16BitsToF32, f32BitsToBf16Bits, refBf16, bf16ToF32Array, f32ToBf16Array, f32ToBf16Bits],
] as const)('%s', (_n, mantBits, expBits, toF32, fromF32Bits, ref, toF32Arr, fromF32Arr, fromNumber) => {
  it('widens every bit pattern exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const want = valueOf(h, mantBits, expBits);
      const got = toF32(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) throw new Error(`0x${h.toString(16)}: ${got} != ${want}`);
    }
  });

  it('round-trips all 65536 bit patterns (bulk: bit-exact, NaN payloads included)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = fromF32Arr(toF32Arr(all));
    expect(back).toEqual(all);
    for (let h = 0; h < 65536; h++) {
      const x = toF32(h);
      if (!Number.isNaN(x)) expect(fromNumber(x)).toBe(h);
    }
  });

  it('rounds every halfway point and its neighbours like the reference', () => {
    const infBits = (2 ** expBits - 1) << mantBits;
    for (let b = 0; b < infBits; b++) {
      const lo = valueOf(b, mantBits, expBits);
      const hi = b + 1 === infBits ? 2 ** (2 ** (expBits - 1)) : valueOf(b + 1, mantBits, expBits);
      const mid = Math.fround((lo + hi) / 2);
      const u = new Uint32Array(new Float32Array([mid, -mid]).buffer);
      for (const base of u) for (const d of [-1, 0, 1]) checkAgainstRef((base + d) >>> 0, fromF32Bits, ref);
    }
  });

  it('matches the reference on 300k random f32 bit patterns', () => {
    const rnd = xorshift(0x9e3779b9 ^ mantBits);
    for (let i = 0; i < 300_000; i++) checkAgainstRef(rnd(), fromF32Bits, ref);
  });

  it('matches the reference (property, fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => checkAgainstRef(u, fromF32Bits, ref)),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.float(), (x) => checkAgainstRef(new Uint32Array(new Float32Array([x]).buffer)[0]!, fromF32Bits, ref)),
      { numRuns: 20_000 },
    );
  });

  it('handles the special values', () => {
    expect(Object.is(toF32(fromNumber(-0)), -0)).toBe(true);
    expect(toF32(fromNumber(0))).toBe(0);
    expect(toF32(fromNumber(Infinity))).toBe(Infinity);
    expect(toF32(fromNumber(-Infinity))).toBe(-Infinity);
    expect(Number.isNaN(toF32(fromNumber(NaN)))).toBe(true);
    expect(toF32(fromNumber(3.4e38))).toBe(expBits === 5 ? Infinity : toF32(fromNumber(3.4e38)));
    // A NaN whose payload lives only in the bits that narrowing drops must not become Inf.
    expect(Number.isNaN(toF32(fromF32Bits(0x7f800001)))).toBe(true);
    expect(Number.isNaN(toF32(fromF32Bits(0xff800001)))).toBe(true);
  });
});

describe('f16 specifics', () => {
  it('overflows at 65520 and keeps the largest finite below it', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
  });
  it('rounds subnormals to nearest even', () => {
    expect(f32ToF16Bits(2 ** -24)).toBe(1);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie -> even (0)
    expect(f32ToF16Bits(2 ** -25 * 1.0000001)).toBe(1);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 -> 2
    expect(f16BitsToF32(0x3ff)).toBe(1023 * 2 ** -24);
  });
});

describe('bulk helpers', () => {
  it('respect byteOffset of views and check lengths', () => {
    const buf = new Float32Array(8).fill(1.5);
    const view = buf.subarray(2, 6);
    expect(Array.from(f32ToF16Array(view))).toEqual([0x3e00, 0x3e00, 0x3e00, 0x3e00]);
    expect(Array.from(f32ToBf16Array(view))).toEqual([0x3fc0, 0x3fc0, 0x3fc0, 0x3fc0]);
    const out = new Float32Array(6);
    f16ToF32Array(new Uint16Array([0x3c00, 0xc000]), out.subarray(1, 3));
    expect(Array.from(out)).toEqual([0, 1, -2, 0, 0, 0]);
    expect(() => f16ToF32Array(new Uint16Array(2), new Float32Array(3))).toThrow(RangeError);
  });
});
