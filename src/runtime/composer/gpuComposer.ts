// Composes W = dequant(W_shared) + Σ_t w_t·B_t·A_t for every mergeable weight on the GPU, into
// buffers an onnxruntime-web session reads directly (same device). See composeShader.ts for the kernel.
import { f16ToF32Array, f32ToF16Array } from '../../core/dtype/index.ts';
import { transpose } from '../../core/tensor/tensor.ts';
import { composeShader, composeShaderFlat, composeShaderFlatF16, composeShaderFlatVec, FLAT_ROWS, FLAT_WG, FLAT_WIDE, TILE, type BaseOperand, type SharedDtype } from './composeShader.ts';
import { planCompose } from './composePlan.ts';
import type { StoredShared } from '../../core/twin/index.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { DecoderIO } from '../../model/onnx/decoder.ts';
import type { OrtModule, OrtTensor } from '../ort.ts';
import { layoutFactor, layoutWeight } from './layout.ts';
import {
  activeExperts,
  validateExperts,
  checkWeight,
  ComposerError,
  type ComposeOptions,
  type Composer,
  type ComposerExpert,
  type ComposerMemory,
  type ComposerWeight,
  type LowRankFactor,
  type RoutingWeights,
} from './types.ts';

/** Which WGSL program composes a weight: the blocked flat kernels carry their block (width × rows). */
type Variant = 'tiled' | 'flat' | 'flat-f16' | { width: number; rows: number };

/** The compiled pipeline of a variant for a base operand. */
const pipelineKey = (v: Variant, dtype: BaseOperand): string => `${typeof v === 'string' ? v : `flat-w${v.width}-r${v.rows}`}-${dtype}`;

/** The WGSL of a variant for a base operand; undefined where none exists (half-precision outputs have no delta update). */
function kernelCode(v: Variant, dtype: BaseOperand): string | undefined {
  if (v === 'flat-f16') return dtype === 'accumulate' ? undefined : composeShaderFlatF16(dtype);
  if (v === 'tiled') return composeShader(dtype);
  if (v === 'flat') return composeShaderFlat(dtype);
  return composeShaderFlatVec(dtype, v.width, v.rows);
}

/** An expert's factors in the device layout, by weight name. */
interface LayoutExpert {
  id: string;
  factors: Map<string, LowRankFactor>;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
/** ORT reads the outputs as graph inputs and may copy them: STORAGE|COPY_SRC|COPY_DST. */
const OUTPUT = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export type MemoryKind = 'shared' | 'experts' | 'composed' | 'scratch';
export type MemoryReport = ComposerMemory;

interface WeightSlot {
  weight: Omit<ComposerWeight, 'shared'> & { dtype: SharedDtype };
  shared: GPUBuffer;
  rowScale: GPUBuffer | undefined;
  output: GPUBuffer;
  params: GPUBuffer;
  /** Concatenated factor rows of all experts: Bt [R, out] and A [R, in]; absent while R = 0. */
  bt: GPUBuffer | undefined;
  a: GPUBuffer | undefined;
  kIdx: GPUBuffer | undefined;
  kW: GPUBuffer | undefined;
  /** Row range of each expert in bt / a. */
  ranges: Map<string, [number, number]>;
  bindGroup: GPUBindGroup | undefined;
  /** The bind group of the delta update ('accumulate': no shared binding). */
  deltaBindGroup: GPUBindGroup | undefined;
}

/** Pads a typed array's bytes to a multiple of 4 (writeBuffer and u32 packing need it). */
function padded(view: ArrayBufferView): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const out = new Uint8Array(Math.max(4, Math.ceil(bytes.length / 4) * 4));
  out.set(bytes);
  return out;
}

export class GpuComposer implements Composer {
  private readonly slots = new Map<string, WeightSlot>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  private experts: LayoutExpert[] = [];
  private readonly weights = new Map<string, WeightInfo>();
  private lastKey: string | undefined;
  /** The active weights the outputs hold (undefined: something else) and delta updates since a full compose (composePlan.ts). */
  private composed: ReadonlyMap<string, number> | undefined;
  private deltasInARow = 0;
  /** What the last compose() did (tests, benchmarks). */
  lastPlan: 'full' | 'delta' | undefined;
  private readonly bytes = new Map<GPUBuffer, { kind: MemoryKind; size: number }>();
  private destroyed = false;

  /**
   * 'tiled': workgroup-memory tiles (GPUs); 'flat': one invocation per element, no barriers (fast on
   * software adapters). Default: flat on SwiftShader-like adapters, tiled elsewhere.
   */
  constructor(
    readonly device: GPUDevice,
    readonly kernel: 'tiled' | 'flat' = 'tiled',
    /** 'f16': outputs are float16 tensors (half the bytes; for a graph with float16 weight inputs). */
    readonly outputType: 'f32' | 'f16' = 'f32',
  ) {}

  /** Uploads one weight's shared part (as stored: f16 and int8 stay packed) and allocates its composed output. */
  addWeight(w: WeightInfo, stored: StoredShared): void {
    this.live();
    if (this.weights.has(w.name)) throw new ComposerError('DUPLICATE', `weight ${w.name} was added twice`);
    this.addLayoutWeight(layoutWeight(w, stored));
    this.weights.set(w.name, w);
  }

  private addLayoutWeight(w: ComposerWeight): void {
    checkWeight(w);
    if (this.slots.has(w.name)) throw new ComposerError('DUPLICATE', `weight ${w.name} was added twice`);
    const n = w.outDim * w.inDim;
    if (n * 4 > this.device.limits.maxStorageBufferBindingSize) {
      throw new ComposerError('BUFFER_TOO_LARGE', `${w.name}: ${n * 4} bytes exceed this GPU's storage binding limit (${this.device.limits.maxStorageBufferBindingSize})`);
    }
    const s = w.shared;
    // Packed as stored (f16 bits, int8), transposed to the device layout.
    const data: ArrayBufferView = transpose(s.data, w.outDim, w.inDim);
    const rowScale = s.dtype === 'int8' ? this.upload(s.scale, 'shared', `${w.name}.scale`) : undefined;
    const slot: WeightSlot = {
      weight: { name: w.name, outDim: w.outDim, inDim: w.inDim, dtype: s.dtype },
      shared: this.upload(data, 'shared', `${w.name}.shared`),
      rowScale,
      output: this.alloc(this.outputType === 'f16' ? Math.ceil(n / 2) * 4 : n * 4, OUTPUT, 'composed', `${w.name}.composed`),
      params: this.alloc(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'scratch', `${w.name}.params`),
      bt: undefined,
      a: undefined,
      kIdx: undefined,
      kW: undefined,
      ranges: new Map(),
      bindGroup: undefined,
      deltaBindGroup: undefined,
    };
    this.slots.set(w.name, slot);
    this.rebuildFactors(slot);
    this.invalidate(); // the new output holds nothing yet
  }

  /** Replaces the set of experts (validated against every weight first: nothing changes on error). */
  setExperts(experts: readonly ComposerExpert[]): void {
    this.live();
    validateExperts(experts, (n) => this.weights.get(n));
    this.experts = experts.map((e) => ({ id: e.id, factors: new Map([...e.module].map(([name, entry]) => [name, layoutFactor(entry, this.weights.get(name)!)])) }));
    for (const slot of this.slots.values()) this.rebuildFactors(slot);
    this.invalidate();
  }

  get expertIds(): string[] {
    return this.experts.map((e) => e.id);
  }

  /**
   * Composes every weight for these routing weights. Returns false (and does nothing) when the
   * effective routing is the one already composed.
   */
  async compose(routing: RoutingWeights, options: ComposeOptions = {}): Promise<boolean> {
    this.live();
    const { active, key } = activeExperts(routing, this.expertIds, options.skipBelow ?? 1e-3);
    if (key === this.lastKey) return false;
    // Half-precision outputs always compose from scratch: accumulating in f16 would drift.
    const plan = this.outputType === 'f32' ? planCompose(this.composed, active, this.deltasInARow) : ({ kind: 'full', weights: active } as const);
    const base = (slot: WeightSlot): BaseOperand => (plan.kind === 'delta' ? 'accumulate' : slot.weight.dtype);
    // Compile what this bundle needs first; createComputePipelineAsync rejects with the WGSL error.
    for (const slot of this.slots.values()) await this.ensurePipeline(this.variant(slot), base(slot));
    const encoder = this.device.createCommandEncoder({ label: 'twinmerge compose' });
    const pass = encoder.beginComputePass();
    for (const slot of this.slots.values()) {
      const rows: number[] = [];
      const weights: number[] = [];
      for (const [id, w] of plan.weights) {
        const range = slot.ranges.get(id);
        if (!range) continue;
        for (let k = range[0]; k < range[1]; k++) {
          rows.push(k);
          weights.push(w);
        }
      }
      if (plan.kind === 'delta' && rows.length === 0) continue; // no moved expert touches this weight
      const { outDim, inDim } = slot.weight;
      this.device.queue.writeBuffer(slot.params, 0, new Uint32Array([inDim, outDim, rows.length, 0]));
      if (rows.length) {
        this.device.queue.writeBuffer(slot.kIdx!, 0, new Uint32Array(rows));
        this.device.queue.writeBuffer(slot.kW!, 0, new Float32Array(weights));
      }
      const variant = this.variant(slot);
      pass.setPipeline(this.pipeline(variant, base(slot)));
      pass.setBindGroup(0, plan.kind === 'delta' ? this.deltaBindGroup(slot) : this.bindGroup(slot));
      if (variant === 'tiled') pass.dispatchWorkgroups(Math.ceil(outDim / TILE), Math.ceil(inDim / TILE));
      else {
        const items = variant === 'flat-f16' ? Math.ceil((outDim * inDim) / 2) : variant === 'flat' ? outDim * inDim : (outDim / variant.width) * (inDim / variant.rows);
        const groups = Math.ceil(items / FLAT_WG);
        const x = Math.min(groups, 65535);
        pass.dispatchWorkgroups(x, Math.ceil(groups / x));
      }
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    await this.device.queue.onSubmittedWorkDone();
    this.lastKey = key;
    this.composed = active;
    this.deltasInARow = plan.kind === 'delta' ? this.deltasInARow + 1 : 0;
    this.lastPlan = plan.kind;
    return true;
  }

  /** The composed weight [in, out] (transposed), for `ort.Tensor.fromGpuBuffer`. */
  output(name: string): GPUBuffer {
    const slot = this.slots.get(name);
    if (!slot) throw new ComposerError('UNKNOWN_WEIGHT', `no mergeable weight named ${name}`);
    return slot.output;
  }

  /** Replaces one composed weight (graph layout [in, out]) until the next compose: e.g. an expert's own full weights. */
  overwrite(name: string, graphLayout: Float32Array): void {
    const out = this.output(name);
    const data = this.outputType === 'f16' ? padded(f32ToF16Array(graphLayout)) : graphLayout;
    if (data.byteLength > out.size) throw new ComposerError('SHAPE_MISMATCH', `${name}: ${graphLayout.length} values do not fit its ${out.size} bytes`);
    this.device.queue.writeBuffer(out, 0, data.buffer, data.byteOffset, data.byteLength);
    this.invalidate();
  }

  weightNames(): string[] {
    return [...this.slots.keys()];
  }

  /** GPU buffers fed as they are: ORT reads them in place, compose() rewrites them. */
  feeds(ort: OrtModule, io: DecoderIO): Record<string, OrtTensor> {
    const out: Record<string, OrtTensor> = {};
    for (const w of io.weightInputs) out[w.name] = ort.Tensor.fromGpuBuffer(this.output(w.name), { dataType: io.weightInputType, dims: w.graphShape });
    return out;
  }

  sibling(): GpuComposer {
    return new GpuComposer(this.device, this.kernel, this.outputType);
  }

  /** Reads a composed weight back, transposed to [in, out] as on the GPU (tests, the CPU path, debugging). */
  async readOutput(name: string): Promise<Float32Array> {
    const src = this.output(name);
    const staging = this.device.createBuffer({ size: src.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, staging, 0, src.size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    if (this.outputType === 'f32') return new Float32Array(raw);
    const slot = this.slots.get(name)!;
    return f16ToF32Array(new Uint16Array(raw, 0, slot.weight.outDim * slot.weight.inDim));
  }

  memory(): MemoryReport {
    const r: MemoryReport = { shared: 0, experts: 0, composed: 0, scratch: 0, buffers: this.bytes.size };
    for (const { kind, size } of this.bytes.values()) r[kind] += size;
    return r;
  }

  destroy(): void {
    for (const b of this.bytes.keys()) b.destroy();
    this.bytes.clear();
    this.slots.clear();
    this.weights.clear();
    this.destroyed = true;
  }

  private invalidate(): void {
    this.lastKey = undefined;
    this.composed = undefined;
  }

  private live(): void {
    if (this.destroyed) throw new ComposerError('DESTROYED', 'the composer was destroyed (bundle unloaded or device lost)');
  }

  private alloc(size: number, usage: number, kind: MemoryKind, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage, label });
    this.bytes.set(buffer, { kind, size: buffer.size });
    return buffer;
  }

  private upload(view: ArrayBufferView, kind: MemoryKind, label: string): GPUBuffer {
    const data = padded(view);
    const buffer = this.alloc(data.byteLength, STORAGE, kind, label);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  private free(buffer: GPUBuffer | undefined): void {
    if (!buffer) return;
    this.bytes.delete(buffer);
    buffer.destroy();
  }

  private rebuildFactors(slot: WeightSlot): void {
    for (const b of [slot.bt, slot.a, slot.kIdx, slot.kW]) this.free(b);
    slot.bt = slot.a = slot.kIdx = slot.kW = undefined;
    slot.bindGroup = slot.deltaBindGroup = undefined;
    slot.ranges.clear();
    const { name, outDim, inDim } = slot.weight;
    let total = 0;
    for (const e of this.experts) {
      const f = e.factors.get(name);
      if (!f) continue;
      slot.ranges.set(e.id, [total, total + f.rank]);
      total += f.rank;
    }
    if (total === 0) return;
    const bt = new Float32Array(total * outDim);
    const a = new Float32Array(total * inDim);
    for (const e of this.experts) {
      const f = e.factors.get(name);
      const range = slot.ranges.get(e.id);
      if (!f || !range) continue;
      const r = f.rank;
      for (let k = 0; k < r; k++) {
        const row = (range[0] + k) * outDim;
        for (let o = 0; o < outDim; o++) bt[row + o] = f.b[o * r + k]!;
      }
      a.set(f.a, range[0] * inDim);
    }
    slot.bt = this.upload(bt, 'experts', `${name}.bt`);
    slot.a = this.upload(a, 'experts', `${name}.a`);
    slot.kIdx = this.alloc(total * 4, STORAGE, 'scratch', `${name}.kIdx`);
    slot.kW = this.alloc(total * 4, STORAGE, 'scratch', `${name}.kW`);
  }

  /**
   * f16 output packs pairs; the flat kernel composes blocks of 16 (else 4) outputs × 4 (else 2, 1)
   * input rows per invocation when the shape allows it, one element at a time otherwise.
   */
  private variant(slot: WeightSlot): Variant {
    if (this.outputType === 'f16') return 'flat-f16';
    if (this.kernel === 'tiled') return 'tiled';
    const { outDim, inDim } = slot.weight;
    const width = outDim % FLAT_WIDE === 0 ? FLAT_WIDE : outDim % 4 === 0 ? 4 : 0;
    if (!width) return 'flat';
    return { width, rows: FLAT_ROWS.find((r) => inDim % r === 0)! };
  }

  private async ensurePipeline(variant: Variant, dtype: BaseOperand): Promise<void> {
    const key = pipelineKey(variant, dtype);
    if (this.pipelines.has(key)) return;
    let p = this.pending.get(key);
    if (!p) {
      const code = kernelCode(variant, dtype);
      if (code === undefined) throw new Error('compose: half-precision outputs have no delta update');
      const module = this.device.createShaderModule({ code, label: `compose-${key}` });
      p = this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `compose-${key}` });
      this.pending.set(key, p);
    }
    this.pipelines.set(key, await p);
  }

  private pipeline(variant: Variant, dtype: BaseOperand): GPUComputePipeline {
    const key = pipelineKey(variant, dtype);
    const p = this.pipelines.get(key);
    if (!p) throw new Error(`compose pipeline ${key} was not compiled`);
    return p;
  }

  private bindGroup(slot: WeightSlot): GPUBindGroup {
    if (slot.bindGroup) return slot.bindGroup;
    // With no expert rows the factor bindings still need (storage) buffers; activeK = 0 means they are never read.
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: slot.params } },
      { binding: 1, resource: { buffer: slot.shared } },
      { binding: 2, resource: { buffer: slot.bt ?? slot.shared } },
      { binding: 3, resource: { buffer: slot.a ?? slot.shared } },
      { binding: 4, resource: { buffer: slot.kIdx ?? slot.shared } },
      { binding: 5, resource: { buffer: slot.kW ?? slot.shared } },
      { binding: 6, resource: { buffer: slot.output } },
    ];
    if (slot.rowScale) entries.push({ binding: 7, resource: { buffer: slot.rowScale } });
    slot.bindGroup = this.device.createBindGroup({ layout: this.pipeline(this.variant(slot), slot.weight.dtype).getBindGroupLayout(0), entries });
    return slot.bindGroup;
  }

  /** A delta update only runs where the slot has factor rows (rows.length > 0), so bt etc. exist. */
  private deltaBindGroup(slot: WeightSlot): GPUBindGroup {
    if (slot.deltaBindGroup) return slot.deltaBindGroup;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: slot.params } },
      { binding: 2, resource: { buffer: slot.bt! } },
      { binding: 3, resource: { buffer: slot.a! } },
      { binding: 4, resource: { buffer: slot.kIdx! } },
      { binding: 5, resource: { buffer: slot.kW! } },
      { binding: 6, resource: { buffer: slot.output } },
    ];
    slot.deltaBindGroup = this.device.createBindGroup({ layout: this.pipeline(this.variant(slot), 'accumulate').getBindGroupLayout(0), entries });
    return slot.deltaBindGroup;
  }
}
