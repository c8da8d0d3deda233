// WGSL for one composed weight: Wt = dequant(Shared_t) + Σ_k w_k · A[k, :]ᵀ ⊗ Bt[k, :].
// Everything is stored transposed for ORT's MatMul ([in, out], `out` contiguous), so both the shared
// read and the output write are coalesced along workgroup x. The rank axis k runs over the active
// experts' factor rows only (kIdx), which is how experts with a negligible routing weight are skipped.
// A delta update (BaseOperand 'accumulate') runs the same kernels as Wt += Σ_k Δw_k · A[k, :]ᵀ ⊗ Bt[k, :].

export type SharedDtype = 'f32' | 'f16' | 'int8';
/**
 * What an element starts from: the shared weight in its stored dtype, or 'accumulate': the output's
 * current value (a delta update, composePlan.ts; float32 outputs only, no shared binding).
 */
export type BaseOperand = SharedDtype | 'accumulate';
export const TILE = 16;
export const FLAT_WG = 64;

function sharedDecl(dtype: BaseOperand): string {
  if (dtype === 'accumulate') return '';
  if (dtype === 'f32') return '@group(0) @binding(1) var<storage, read> sharedW: array<f32>;';
  // f16 and int8 arrive packed in u32 words (2 halves / 4 bytes per word): no shader-f16 needed.
  const words = '@group(0) @binding(1) var<storage, read> sharedW: array<u32>;';
  return dtype === 'int8' ? `${words}\n@group(0) @binding(7) var<storage, read> rowScale: array<f32>;` : words;
}

function sharedLoad(dtype: BaseOperand): string {
  switch (dtype) {
    case 'accumulate':
      return 'outW[e]';
    case 'f32':
      return 'sharedW[e]';
    case 'f16':
      return 'unpack2x16float(sharedW[e >> 1u])[e & 1u]';
    case 'int8':
      // Sign-extending extract of byte (e & 3) of the word, times the per-output-row scale.
      return 'f32(extractBits(bitcast<i32>(sharedW[e >> 2u]), 8u * (e & 3u), 8u)) * rowScale[o]';
  }
}

/**
 * The bindings every compose kernel shares; Bt may be read as vec4, the output as vec4 or packed
 * halves, and the shared weight through another view (`shared`: the blocked kernel's vec4 view).
 */
function bindings(dtype: BaseOperand, bt: 'f32' | 'vec4<f32>', out: 'f32' | 'u32' | 'vec4<f32>', shared = sharedDecl(dtype)): string {
  return `struct Params { inDim: u32, outDim: u32, activeK: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${shared}
@group(0) @binding(2) var<storage, read> bt: array<${bt}>; // [R, out]: B transposed, all experts' rows
@group(0) @binding(3) var<storage, read> a: array<f32>;      // [R, in]
@group(0) @binding(4) var<storage, read> kIdx: array<u32>;   // active rows of bt / a
@group(0) @binding(5) var<storage, read> kW: array<f32>;     // routing weight of each active row
@group(0) @binding(6) var<storage, read_write> outW: array<${out}>; // [in, out]`;
}

/** One composed element e = i * outDim + o, read straight from global memory (the flat kernels). */
function composedFn(dtype: BaseOperand): string {
  return `fn composed(e: u32) -> f32 {
  let i = e / p.outDim;
  let o = e - i * p.outDim;
  var acc = 0.0;
  for (var j = 0u; j < p.activeK; j++) {
    let k = kIdx[j];
    acc += kW[j] * bt[k * p.outDim + o] * a[k * p.inDim + i];
  }
  return ${sharedLoad(dtype)} + acc;
}`;
}

/** Tiled: workgroup-memory tiles of Bt and A (for GPUs). */
export function composeShader(dtype: BaseOperand): string {
  return /* wgsl */ `
${bindings(dtype, 'f32', 'f32')}

var<workgroup> tB: array<array<f32, ${TILE}>, ${TILE}>; // [k][o]
var<workgroup> tA: array<array<f32, ${TILE}>, ${TILE}>; // [k][i]

@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let o = wg.x * ${TILE}u + l.x;
  let i = wg.y * ${TILE}u + l.y;
  let rowA = wg.y * ${TILE}u + l.x; // the i this thread loads into tA (coalesced along x)
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.activeK; k0 += ${TILE}u) {
    let kk = k0 + l.y;
    var vb = 0.0;
    var va = 0.0;
    if (kk < p.activeK) {
      let k = kIdx[kk];
      if (o < p.outDim) { vb = bt[k * p.outDim + o] * kW[kk]; }
      if (rowA < p.inDim) { va = a[k * p.inDim + rowA]; }
    }
    tB[l.y][l.x] = vb;
    tA[l.y][l.x] = va;
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) {
      acc += tB[k][l.x] * tA[k][l.y];
    }
    workgroupBarrier();
  }
  if (o < p.outDim && i < p.inDim) {
    let e = i * p.outDim + o;
    outW[e] = ${sharedLoad(dtype)} + acc;
  }
}
`;
}

/**
 * The same composition without workgroup memory or barriers: one invocation per output element.
 * On software adapters (SwiftShader) barriers are expensive and caches make tiling moot.
 */
export function composeShaderFlat(dtype: BaseOperand): string {
  return /* wgsl */ `
${bindings(dtype, 'f32', 'f32')}
${composedFn(dtype)}

@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * ${FLAT_WG}u;
  if (e >= p.inDim * p.outDim) { return; }
  outW[e] = composed(e);
}
`;
}

/**
 * Half-precision output without the shader-f16 feature: each invocation composes two neighbouring
 * elements and stores them as one u32 with pack2x16float (what ORT reads as a float16 tensor).
 */
export function composeShaderFlatF16(dtype: SharedDtype): string {
  return /* wgsl */ `
${bindings(dtype, 'f32', 'u32')}
${composedFn(dtype)}

@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * ${FLAT_WG}u;
  let n = p.inDim * p.outDim;
  let e = word * 2u;
  if (e >= n) { return; }
  var hi = 0.0;
  if (e + 1u < n) { hi = composed(e + 1u); }
  outW[word] = pack2x16float(vec2<f32>(composed(e), hi));
}
`;
}

/** Outputs per invocation of the wide flat kernel along `out` (a multiple of 4). */
export const FLAT_WIDE = 16;
/** Input rows per invocation of the blocked flat kernels (the largest of these dividing inDim). */
export const FLAT_ROWS = [4, 2, 1] as const;

/** Four neighbouring base values at element e4·4 (lane v of the block's outputs) as one vec4. */
function sharedLoad4(dtype: BaseOperand, v: number): string {
  switch (dtype) {
    case 'accumulate':
      return 'outW[e4]';
    case 'f32':
      return 'sharedW[e4]';
    case 'f16':
      return 'vec4<f32>(unpack2x16float(sharedW[e4].x), unpack2x16float(sharedW[e4].y))';
    case 'int8': {
      const byte = (c: number) => `f32(extractBits(bitcast<i32>(sharedW[e4]), ${8 * c}u, 8u))`;
      return `vec4<f32>(${[0, 1, 2, 3].map(byte).join(', ')}) * rowScale[o0 / 4u + ${v}u]`;
    }
  }
}

/** The vec4 view of the shared weight (and of the int8 row scales) the blocked kernel reads. */
function sharedDecl4(dtype: BaseOperand): string {
  switch (dtype) {
    case 'accumulate':
      return '';
    case 'f32':
      return '@group(0) @binding(1) var<storage, read> sharedW: array<vec4<f32>>;';
    case 'f16':
      return '@group(0) @binding(1) var<storage, read> sharedW: array<vec2<u32>>; // 4 halves per element';
    case 'int8':
      return '@group(0) @binding(1) var<storage, read> sharedW: array<u32>; // 4 bytes per element\n@group(0) @binding(7) var<storage, read> rowScale: array<vec4<f32>>;';
  }
}

/**
 * The flat kernel blocked in registers: each invocation composes `rows` input rows × `width`
 * outputs (width a multiple of 4 dividing outDim, rows dividing inDim), so one read of a Bt row
 * serves `rows` rows and one read of A serves `width` outputs. On software adapters (SwiftShader)
 * loads, not arithmetic, bound the kernel: a 4 × 16 block composes a SmolLM2-135M layer ~3× faster
 * than one row of 16 (scratch measurement, `npm run bench -- --only=composer` keeps the figure).
 * Shared values are read and outputs written as vec4s. Each element sums its factor rows in the
 * same order as the other kernels.
 */
export function composeShaderFlatVec(dtype: BaseOperand, width: number, rows = 1): string {
  if (width % 4 !== 0 || width <= 0) throw new Error(`composeShaderFlatVec: width ${width} is not a positive multiple of 4`);
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`composeShaderFlatVec: rows ${rows} is not a positive integer`);
  const lanes = Array.from({ length: width / 4 }, (_, v) => v);
  const hs = Array.from({ length: rows }, (_, h) => h);
  const each = (f: (h: number, v: number) => string) => hs.flatMap((h) => lanes.map((v) => f(h, v))).join('\n');
  return /* wgsl */ `
${bindings(dtype, 'vec4<f32>', 'vec4<f32>', sharedDecl4(dtype))}

@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = gid.x + gid.y * nwg.x * ${FLAT_WG}u;
  let groups = p.outDim / ${width}u;
  if (q >= (p.inDim / ${rows}u) * groups) { return; }
  let ib = q / groups;
  let i0 = ib * ${rows}u;
  let o0 = (q - ib * groups) * ${width}u;
${each((h, v) => `  var acc${h}_${v} = vec4<f32>(0.0);`)}
  for (var j = 0u; j < p.activeK; j++) {
    let k = kIdx[j];
    let w = kW[j];
${hs.map((h) => `    let s${h} = w * a[k * p.inDim + i0 + ${h}u];`).join('\n')}
    let row = (k * p.outDim + o0) / 4u;
${lanes.map((v) => `    let b${v} = bt[row + ${v}u];`).join('\n')}
${each((h, v) => `    acc${h}_${v} += s${h} * b${v};`)}
  }
${each((h, v) => `  { let e4 = ((i0 + ${h}u) * p.outDim + o0) / 4u + ${v}u; outW[e4] = ${sharedLoad4(dtype, v)} + acc${h}_${v}; }`)}
}
`;
}
