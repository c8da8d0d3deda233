// The randomized SVD's big products (core/linalg/svd.ts MatrixProducts) in WGSL on a WebGPU device:
// what the worker uses to factor a dropped checkpoint on a hardware GPU (elsewhere, software adapters
// included, the same products run on onnxruntime's MatMul: matrixProducts.ts; browserSession.ts
// svdProductsOn). Float32 in and out.
//
// The randomized method multiplies the same matrix M eight or more times (sketch, power iterations,
// projection), so M stays on the device between products (a few most recent matrices are kept; the
// orthonormalisation's small products alternate with M's). M is held in row blocks no larger than
// the device's storage binding limit, so an embedding of any height fits.

import type { ReleasableMatrixProducts } from './matrixProducts.ts';

/** Rows of Xt / Qt (c) each invocation accumulates: one read of M serves this many of them. */
const C_BLOCK = 8;
const WG = 64;
/** Matrices kept on the device (M and the orthonormalisation's operands alternate). */
const KEEP = 3;
/** Qt M sums over M's rows in at most this many independent slices (their partial sums are added on readback). */
const MAX_SLICES = 128;

// Both kernels read M as vec4 rows (cols padded to a multiple of 4 on upload) with no workgroup
// memory or barriers: software adapters (SwiftShader) pay dearly for barriers, and each invocation's
// vec4 loads serve 4 x C_BLOCK multiply-adds. Out-of-range rows and columns are read clamped and not written.
const PARAMS = /* wgsl */ `
struct Params { rows: u32, cols4: u32, k: u32, rowOffset: u32, totalRows: u32, rowsPerSlice: u32, sliceBase: u32, _p: u32 }
@group(0) @binding(3) var<uniform> p: Params;
const CB = ${C_BLOCK}u;
`;

/**
 * Qt M, one slice of M's rows: part[slice, c, j] = sum over the slice's rows i of qt[c, rowOffset + i] * m[i, j].
 * One invocation per 4 vec4 columns (16 outputs) and block of CB rows of Qt.
 */
const QT_M = /* wgsl */ `${PARAMS}
@group(0) @binding(0) var<storage, read> m: array<vec4f>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<vec4f>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x * 4u;
  let c0 = gid.y * CB;
  if (j >= p.cols4) { return; }
  let j1 = min(j + 1u, p.cols4 - 1u);
  let j2 = min(j + 2u, p.cols4 - 1u);
  let j3 = min(j + 3u, p.cols4 - 1u);
  let i0 = gid.z * p.rowsPerSlice;
  let i1 = min(p.rows, i0 + p.rowsPerSlice);
  var a0: array<vec4f, ${C_BLOCK}>;
  var a1: array<vec4f, ${C_BLOCK}>;
  var a2: array<vec4f, ${C_BLOCK}>;
  var a3: array<vec4f, ${C_BLOCK}>;
  for (var i = i0; i < i1; i++) {
    let row = i * p.cols4;
    let v0 = m[row + j];
    let v1 = m[row + j1];
    let v2 = m[row + j2];
    let v3 = m[row + j3];
    let xi = p.rowOffset + i;
    for (var c = 0u; c < CB; c++) {
      let xv = x[min(c0 + c, p.k - 1u) * p.totalRows + xi];
      a0[c] += xv * v0;
      a1[c] += xv * v1;
      a2[c] += xv * v2;
      a3[c] += xv * v3;
    }
  }
  let base = (p.sliceBase + gid.z) * p.k * p.cols4;
  for (var c = 0u; c < CB; c++) {
    if (c0 + c < p.k) {
      let o = base + (c0 + c) * p.cols4 + j;
      part[o] = a0[c];
      if (j + 1u < p.cols4) { part[o + 1u] = a1[c]; }
      if (j + 2u < p.cols4) { part[o + 2u] = a2[c]; }
      if (j + 3u < p.cols4) { part[o + 3u] = a3[c]; }
    }
  }
}`;

/**
 * Xt M^T: out[c, rowOffset + i] = sum_j xt[c, j] * m[i, j]. One invocation per 4 rows of M and
 * block of CB rows of Xt, walking the rows in vec4 steps.
 */
const XT_MT = /* wgsl */ `${PARAMS}
@group(0) @binding(0) var<storage, read> m: array<vec4f>;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x * 4u;
  let c0 = gid.y * CB;
  if (r >= p.rows) { return; }
  let o0 = r * p.cols4;
  let o1 = min(r + 1u, p.rows - 1u) * p.cols4;
  let o2 = min(r + 2u, p.rows - 1u) * p.cols4;
  let o3 = min(r + 3u, p.rows - 1u) * p.cols4;
  var s0: array<vec4f, ${C_BLOCK}>;
  var s1: array<vec4f, ${C_BLOCK}>;
  var s2: array<vec4f, ${C_BLOCK}>;
  var s3: array<vec4f, ${C_BLOCK}>;
  for (var j = 0u; j < p.cols4; j++) {
    let m0 = m[o0 + j];
    let m1 = m[o1 + j];
    let m2 = m[o2 + j];
    let m3 = m[o3 + j];
    for (var c = 0u; c < CB; c++) {
      let xv = x[min(c0 + c, p.k - 1u) * p.cols4 + j];
      s0[c] += m0 * xv;
      s1[c] += m1 * xv;
      s2[c] += m2 * xv;
      s3[c] += m3 * xv;
    }
  }
  let one = vec4f(1.0);
  for (var c = 0u; c < CB; c++) {
    if (c0 + c < p.k) {
      let o = (c0 + c) * p.totalRows + p.rowOffset + r;
      out[o] = dot(s0[c], one);
      if (r + 1u < p.rows) { out[o + 1u] = dot(s1[c], one); }
      if (r + 2u < p.rows) { out[o + 2u] = dot(s2[c], one); }
      if (r + 3u < p.rows) { out[o + 3u] = dot(s3[c], one); }
    }
  }
}`;

/** [n, cols] row-major → [n, cols4 * 4] (zero columns appended); the same array when cols % 4 = 0. */
function padCols(a: Float32Array, n: number, cols: number): Float32Array {
  const c4 = Math.ceil(cols / 4) * 4;
  if (c4 === cols) return a;
  const out = new Float32Array(n * c4);
  for (let i = 0; i < n; i++) out.set(a.subarray(i * cols, (i + 1) * cols), i * c4);
  return out;
}

/** A matrix on the device: row blocks of its column-padded rows (cols4 vec4 each). */
interface Resident {
  m: Float32Array;
  rows: number;
  cols: number;
  blocks: { buffer: GPUBuffer; row0: number; rows: number }[];
}

export interface GpuMatrixProducts extends ReleasableMatrixProducts {
  /** Frees every buffer it holds (the device stays). */
  release(): void;
}

export interface GpuProductsOptions {
  /** Largest row block of M in bytes (default: the device's storage binding limit, at most 256 MiB). */
  maxBlockBytes?: number;
}

/** MatrixProducts on `device`, in WGSL. */
export function createGpuMatrixProducts(device: GPUDevice, opts: GpuProductsOptions = {}): GpuMatrixProducts {
  const pipeline = (code: string) => device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const qtMPipe = pipeline(QT_M);
  const xtMtPipe = pipeline(XT_MT);
  const blockBytes = Math.max(16, Math.min(opts.maxBlockBytes ?? Infinity, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, 256 * 2 ** 20));
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  let resident: Resident[] = [];

  const storage = (bytes: number, extra = 0) => device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extra });
  const upload = (data: Float32Array, begin = 0, end = data.length) => {
    const b = storage((end - begin) * 4);
    if (end > begin) device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset + begin * 4, (end - begin) * 4);
    return b;
  };

  /** M on the device (uploaded on first use, kept among the KEEP most recent). */
  function onDevice(m: Float32Array, rows: number, cols: number): Resident {
    const hit = resident.findIndex((r) => r.m === m && r.rows === rows && r.cols === cols);
    if (hit >= 0) {
      const r = resident[hit]!;
      resident = [r, ...resident.filter((_, i) => i !== hit)];
      return r;
    }
    const c4 = Math.ceil(cols / 4) * 4;
    const padded = padCols(m, rows, cols);
    const rowsPerBlock = Math.max(1, Math.floor(blockBytes / 4 / c4));
    const blocks = [];
    for (let row0 = 0; row0 < rows; row0 += rowsPerBlock) {
      const n = Math.min(rowsPerBlock, rows - row0);
      blocks.push({ buffer: upload(padded, row0 * c4, (row0 + n) * c4), row0, rows: n });
    }
    const r = { m, rows, cols, blocks };
    resident.unshift(r);
    for (const old of resident.splice(KEEP)) for (const b of old.blocks) b.buffer.destroy();
    return r;
  }

  async function run(kind: 'qtM' | 'xtMt', m: Float32Array, rows: number, cols: number, x: Float32Array, k: number): Promise<Float32Array> {
    if (m.length !== rows * cols) throw new RangeError(`gpu ${kind}: ${m.length} elements is not [${rows}, ${cols}]`);
    if (x.length !== k * (kind === 'qtM' ? rows : cols)) throw new RangeError(`gpu ${kind}: the other factor has ${x.length} elements, not ${k} rows of ${kind === 'qtM' ? rows : cols}`);
    const outLen = k * (kind === 'qtM' ? cols : rows);
    if (k === 0 || outLen === 0) return new Float32Array(outLen);
    const cols4 = Math.ceil(cols / 4);
    const M = onDevice(m, rows, cols);
    const xBuf = upload(kind === 'xtMt' ? padCols(x, k, cols) : x);
    const kb = Math.ceil(k / C_BLOCK);
    // Qt M: every block's rows in slices whose partial sums land side by side ([slices, k, cols4 * 4]).
    const rowsPerSlice = Math.max(256, Math.ceil(rows / MAX_SLICES));
    const slices = M.blocks.map((b) => Math.ceil(b.rows / rowsPerSlice));
    const totalSlices = slices.reduce((a, b) => a + b, 0);
    const outFloats = kind === 'qtM' ? totalSlices * k * cols4 * 4 : outLen;
    const out = storage(outFloats * 4, GPUBufferUsage.COPY_SRC);
    const read = device.createBuffer({ size: out.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const temps: GPUBuffer[] = [xBuf, out, read];
    const enc = device.createCommandEncoder();
    let sliceBase = 0;
    for (const [n, b] of M.blocks.entries()) {
      const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(params, 0, new Uint32Array([b.rows, cols4, k, b.row0, rows, rowsPerSlice, sliceBase, 0]));
      temps.push(params);
      const pipe = kind === 'qtM' ? qtMPipe : xtMtPipe;
      const bind = device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: [b.buffer, xBuf, out, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const groups = kind === 'qtM' ? Math.ceil(cols4 / 4 / WG) : Math.ceil(b.rows / 4 / WG);
      if (groups > maxGroups || slices[n]! > maxGroups) throw new RangeError(`gpu ${kind}: [${rows}, ${cols}] needs more workgroups than the device allows`);
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups, kb, kind === 'qtM' ? slices[n]! : 1);
      pass.end();
      sliceBase += slices[n]!;
    }
    enc.copyBufferToBuffer(out, 0, read, 0, out.size);
    device.queue.submit([enc.finish()]);
    try {
      await read.mapAsync(GPUMapMode.READ);
      const y = new Float32Array(read.getMappedRange(), 0, outFloats);
      if (kind === 'xtMt') return y.slice();
      // The slices' partial sums, added in float64; padding columns dropped.
      const c4 = cols4 * 4;
      const sum = new Float64Array(k * cols);
      for (let sl = 0; sl < totalSlices; sl++)
        for (let c = 0; c < k; c++) {
          const o = (sl * k + c) * c4;
          for (let j = 0; j < cols; j++) sum[c * cols + j]! += y[o + j]!;
        }
      return Float32Array.from(sum);
    } finally {
      read.unmap();
      for (const b of temps) b.destroy();
    }
  }

  return {
    xtMt: (m, rows, cols, xt, k) => run('xtMt', m, rows, cols, xt, k),
    qtM: (m, rows, cols, qt, k) => run('qtM', m, rows, cols, qt, k),
    release() {
      for (const r of resident) for (const b of r.blocks) b.buffer.destroy();
      resident = [];
    },
  };
}
