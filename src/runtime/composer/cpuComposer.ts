// The composer without WebGPU: W = dequant(W_shared) + Σ_t w_t·E_t with src/core/twin's kernel
// (composeTensorCpu, float64 accumulation), computed in the checkpoint layout and written in the
// graph's layout as CPU tensors (WASM, Node). `twinmerge eval` composes with the same kernel, so the
// WASM app composes exactly what eval scored.
import { composeTensorCpu, dequantShared, type StoredShared } from '../../core/twin/index.ts';
import { transpose } from '../../core/tensor/tensor.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { DecoderIO } from '../../model/onnx/decoder.ts';
import type { OrtModule, OrtTensor } from '../ort.ts';
import { planCompose } from './composePlan.ts';
import { activeExperts, ComposerError, validateExperts, type ComposeOptions, type Composer, type ComposerExpert, type ComposerMemory, type RoutingWeights } from './types.ts';

/** The graph takes this matrix as [in, out]: the transpose of the checkpoint's [out, in]. */
const graphTransposes = (w: WeightInfo): boolean => w.transposed && w.shape.length === 2;

interface Slot {
  w: WeightInfo;
  /** Dequantized shared weight, checkpoint layout. */
  shared: Float32Array;
  /** Composed weight, graph layout. */
  output: Float32Array;
}

export class CpuComposer implements Composer {
  private readonly slots = new Map<string, Slot>();
  private experts: ComposerExpert[] = [];
  private lastKey: string | undefined;
  /** The active weights the outputs hold (undefined: something else) and delta updates since a full compose (composePlan.ts). */
  private composed: ReadonlyMap<string, number> | undefined;
  private deltasInARow = 0;
  /** What the last compose() did (tests, benchmarks). */
  lastPlan: 'full' | 'delta' | undefined;
  /** Checkpoint-layout scratch for weights the graph takes transposed (sized to the largest). */
  private scratch = new Float32Array(0);

  addWeight(w: WeightInfo, stored: StoredShared): void {
    if (this.slots.has(w.name)) throw new ComposerError('DUPLICATE', `weight ${w.name} was added twice`);
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (stored.data.length !== n) throw new ComposerError('SHAPE_MISMATCH', `${w.name}: shared data has ${stored.data.length} values, expected [${w.shape}] = ${n}`);
    const shared = dequantShared(w, stored);
    this.slots.set(w.name, { w, shared, output: this.toGraph(w, shared) });
    if (graphTransposes(w) && n > this.scratch.length) this.scratch = new Float32Array(n);
    this.invalidate();
  }

  setExperts(experts: readonly ComposerExpert[]): void {
    validateExperts(experts, (n) => this.slots.get(n)?.w);
    this.experts = [...experts];
    this.invalidate();
  }

  get expertIds(): string[] {
    return this.experts.map((e) => e.id);
  }

  async compose(routing: RoutingWeights, options: ComposeOptions = {}): Promise<boolean> {
    const { active, key } = activeExperts(routing, this.expertIds, options.skipBelow ?? 1e-3);
    if (key === this.lastKey) return false;
    const plan = planCompose(this.composed, active, this.deltasInARow);
    const weights = this.experts.map((e) => plan.weights.get(e.id) ?? 0);
    for (const s of this.slots.values()) {
      const entries = this.experts.map((e, t) => (weights[t] !== 0 ? e.module.get(s.w.name) : undefined));
      if (plan.kind === 'delta' && !entries.some((e) => e)) continue; // no moved expert touches this weight
      // Composed in the checkpoint layout: straight into the output when the graph takes it so,
      // else into the scratch and transposed into the output. No allocation per message. A delta
      // starts from the current output (read back into the checkpoint layout) instead of shared.
      const flip = graphTransposes(s.w);
      const [rows, cols] = [s.w.shape[0]!, s.w.shape[1]!];
      const hf = flip ? this.scratch.subarray(0, s.shared.length) : s.output;
      const base = plan.kind === 'full' ? s.shared : flip ? transpose(s.output, cols, rows, hf) : s.output;
      if (entries.some((e) => e)) composeTensorCpu(s.w.name, s.w.shape, base, entries, weights, hf);
      else hf.set(base);
      if (flip) transpose(hf, rows, cols, s.output);
    }
    this.lastKey = key;
    this.composed = active;
    this.deltasInARow = plan.kind === 'delta' ? this.deltasInARow + 1 : 0;
    this.lastPlan = plan.kind;
    return true;
  }

  overwrite(name: string, graphLayout: Float32Array): void {
    const s = this.slot(name);
    if (graphLayout.length !== s.output.length) throw new ComposerError('SHAPE_MISMATCH', `${name}: ${graphLayout.length} values, expected ${s.output.length}`);
    s.output.set(graphLayout);
    this.invalidate();
  }

  feeds(ort: OrtModule, io: DecoderIO): Record<string, OrtTensor> {
    const out: Record<string, OrtTensor> = {};
    for (const w of io.weightInputs) out[w.name] = new ort.Tensor('float32', this.slot(w.name).output, w.graphShape);
    return out;
  }

  async readOutput(name: string): Promise<Float32Array> {
    return this.slot(name).output.slice();
  }

  memory(): ComposerMemory {
    let shared = 0;
    let experts = 0;
    for (const s of this.slots.values()) shared += s.shared.byteLength;
    for (const e of this.experts) for (const x of e.module.values()) experts += x.kind === 'delta' ? x.delta.byteLength : x.A.byteLength + x.B.byteLength;
    return { shared, experts, composed: shared, scratch: 0, buffers: 0 };
  }

  sibling(): CpuComposer {
    return new CpuComposer();
  }

  destroy(): void {
    this.slots.clear();
    this.experts = [];
  }

  private invalidate(): void {
    this.lastKey = undefined;
    this.composed = undefined;
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new ComposerError('UNKNOWN_WEIGHT', `no mergeable weight named ${name}`);
    return s;
  }

  private toGraph(w: WeightInfo, hf: Float32Array): Float32Array {
    return graphTransposes(w) ? transpose(hf, w.shape[0]!, w.shape[1]!) : hf.slice();
  }
}
