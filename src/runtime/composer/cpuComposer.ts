// The composer without WebGPU: the same W = dequant(W_shared) + Σ_t w_t·B_t·A_t in TypeScript,
// written in the graph's [in, out] layout as CPU tensors for the WASM EP. Same inputs, same
// results as GpuComposer (tested against the same float64 reference).
import { f16ToF32Array } from '../../core/dtype/index.ts';
import {
  activeExperts,
  validateExperts,
  checkWeight,
  ComposerError,
  type ComposeOptions,
  type ComposerWeight,
  type ExpertModule,
  type LowRankFactor,
  type RoutingWeights,
} from './types.ts';

interface Slot {
  name: string;
  outDim: number;
  inDim: number;
  /** dequantized shared, already transposed to [in, out] */
  sharedT: Float32Array;
  output: Float32Array;
}

function dequantTransposed(w: ComposerWeight): Float32Array {
  const { outDim, inDim, shared } = w;
  const src = shared.dtype === 'f32' ? shared.data : shared.dtype === 'f16' ? f16ToF32Array(shared.data) : null;
  const out = new Float32Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) {
    const scale = shared.dtype === 'int8' ? shared.scale[o]! : 1;
    for (let i = 0; i < inDim; i++) {
      const v = src ? src[o * inDim + i]! : (shared.data as Int8Array)[o * inDim + i]! * scale;
      out[i * outDim + o] = v;
    }
  }
  return out;
}

export class CpuComposer {
  private readonly slots = new Map<string, Slot>();
  private experts: ExpertModule[] = [];
  private lastKey: string | undefined;

  addWeight(w: ComposerWeight): void {
    checkWeight(w);
    if (this.slots.has(w.name)) throw new ComposerError('DUPLICATE', `weight ${w.name} was added twice`);
    const sharedT = dequantTransposed(w);
    this.slots.set(w.name, { name: w.name, outDim: w.outDim, inDim: w.inDim, sharedT, output: sharedT.slice() });
  }

  setExperts(experts: readonly ExpertModule[]): void {
    validateExperts(experts, (n) => this.slots.get(n));
    this.experts = [...experts];
    this.lastKey = undefined;
  }

  get expertIds(): string[] {
    return this.experts.map((e) => e.id);
  }

  async compose(routing: RoutingWeights, options: ComposeOptions = {}): Promise<boolean> {
    const { active, key } = activeExperts(routing, this.expertIds, options.skipBelow ?? 1e-3);
    if (key === this.lastKey) return false;
    for (const s of this.slots.values()) {
      const out = s.output;
      out.set(s.sharedT);
      for (const e of this.experts) {
        const w = active.get(e.id);
        const f = e.factors.get(s.name);
        if (w === undefined || !f) continue;
        addScaledProduct(out, f, w, s.outDim, s.inDim);
      }
    }
    this.lastKey = key;
    return true;
  }

  /** Composed weight [in, out]. */
  output(name: string): Float32Array {
    const s = this.slots.get(name);
    if (!s) throw new ComposerError('UNKNOWN_WEIGHT', `no mergeable weight named ${name}`);
    return s.output;
  }

  /** Replaces one composed weight (graph layout) until the next compose: e.g. an expert's own full weights. */
  overwrite(name: string, graphLayout: Float32Array): void {
    const out = this.output(name);
    if (graphLayout.length !== out.length) throw new ComposerError('SHAPE_MISMATCH', `${name}: ${graphLayout.length} values, expected ${out.length}`);
    out.set(graphLayout);
    this.lastKey = undefined;
  }

  weightNames(): string[] {
    return [...this.slots.keys()];
  }

  memory(): { shared: number; experts: number; composed: number; scratch: number; buffers: number } {
    let shared = 0;
    let experts = 0;
    for (const s of this.slots.values()) shared += s.sharedT.byteLength;
    for (const e of this.experts) for (const f of e.factors.values()) experts += f.a.byteLength + f.b.byteLength;
    return { shared, experts, composed: shared, scratch: 0, buffers: 0 };
  }
}

/** out[i, o] += w · Σ_k B[o, k] A[k, i] (out is [in, out]); row of A outer so reads stay sequential. */
function addScaledProduct(out: Float32Array, f: LowRankFactor, w: number, outDim: number, inDim: number): void {
  const r = f.rank;
  const wb = new Float64Array(outDim);
  for (let k = 0; k < r; k++) {
    for (let o = 0; o < outDim; o++) wb[o] = w * f.b[o * r + k]!;
    const aRow = k * inDim;
    for (let i = 0; i < inDim; i++) {
      const a = f.a[aRow + i]!;
      if (a === 0) continue;
      const base = i * outDim;
      for (let o = 0; o < outDim; o++) out[base + o] = out[base + o]! + wb[o]! * a;
    }
  }
}
