// The router: a small MLP over T experts on standardised features (mean-pooled last hidden state).
// logits = W_L act(... act(W_1 (x - mean) / std + b_1) ...) + b_L ; routing weights = softmax(logits / T).

export type Activation = 'relu' | 'gelu';

export interface DenseLayer {
  /** [out, in] row-major. */
  readonly W: Float32Array;
  /** [out]. */
  readonly b: Float32Array;
}

export interface RouterModel {
  readonly inputSize: number;
  /** Hidden layer sizes; [] = linear (multinomial logistic regression). */
  readonly hidden: readonly number[];
  readonly numClasses: number;
  readonly activation: Activation;
  /** Feature standardisation, stored with the weights: x' = (x - mean) / std. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  /** hidden.length + 1 layers. */
  readonly layers: readonly DenseLayer[];
}

export class RouterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouterError';
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}

export function geluGrad(x: number): number {
  const u = GELU_C * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

export function layerSizes(m: Pick<RouterModel, 'inputSize' | 'hidden' | 'numClasses'>): number[] {
  return [m.inputSize, ...m.hidden, m.numClasses];
}

/** Checks that the layers chain with the declared sizes. */
export function validateRouter(m: RouterModel): void {
  const sizes = layerSizes(m);
  if (m.layers.length !== sizes.length - 1) throw new RouterError(`router: ${m.layers.length} layers, expected ${sizes.length - 1} for sizes [${sizes.join(', ')}]`);
  if (m.mean.length !== m.inputSize || m.std.length !== m.inputSize) throw new RouterError(`router: mean/std must have ${m.inputSize} values`);
  m.layers.forEach((l, i) => {
    if (l.W.length !== sizes[i + 1]! * sizes[i]! || l.b.length !== sizes[i + 1]!)
      throw new RouterError(`router: layer ${i} must be [${sizes[i + 1]}, ${sizes[i]}] with ${sizes[i + 1]} biases`);
  });
  if (m.activation !== 'relu' && m.activation !== 'gelu') throw new RouterError(`router: unknown activation ${String(m.activation)}`);
}

/** Standardised copy of one feature vector. */
export function standardize(m: Pick<RouterModel, 'mean' | 'std'>, x: ArrayLike<number>, out = new Float64Array(x.length)): Float64Array {
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - m.mean[i]!) / m.std[i]!;
  return out;
}

/**
 * Forward pass. Returns the activations of every layer: acts[0] = standardised input, acts[l] for
 * l = 1..L-1 = post-activation hidden, acts[L] = logits; pre[l] = pre-activations (for backprop).
 */
export function forward(m: RouterModel, x: ArrayLike<number>): { acts: Float64Array[]; pre: Float64Array[] } {
  if (x.length !== m.inputSize) throw new RouterError(`router: feature has ${x.length} values, expected ${m.inputSize}`);
  const sizes = layerSizes(m);
  const acts: Float64Array[] = [standardize(m, x)];
  const pre: Float64Array[] = [acts[0]!];
  const L = m.layers.length;
  for (let l = 0; l < L; l++) {
    const { W, b } = m.layers[l]!;
    const inn = sizes[l]!, out = sizes[l + 1]!;
    const h = acts[l]!;
    const z = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o]!;
      const ro = o * inn;
      for (let i = 0; i < inn; i++) s += W[ro + i]! * h[i]!;
      z[o] = s;
    }
    pre.push(z);
    if (l === L - 1) acts.push(z);
    else {
      const a = new Float64Array(out);
      if (m.activation === 'relu') for (let o = 0; o < out; o++) a[o] = z[o]! > 0 ? z[o]! : 0;
      else for (let o = 0; o < out; o++) a[o] = gelu(z[o]!);
      acts.push(a);
    }
  }
  return { acts, pre };
}

export function routerLogits(m: RouterModel, x: ArrayLike<number>): Float64Array {
  const { acts } = forward(m, x);
  return acts[acts.length - 1]!;
}

/** softmax(logits / temperature), numerically stable. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RouterError(`temperature must be a finite number > 0, got ${temperature}`);
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]! / temperature);
  const out = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! / temperature - mx);
    s += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / s;
  return out;
}

/**
 * Keeps the k largest probabilities and renormalises them to sum 1 (others 0). Ties at the k-th
 * value keep the lower class index. k >= length returns a copy.
 */
export function topK(probs: ArrayLike<number>, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1) throw new RouterError(`topK: k must be an integer >= 1, got ${k}`);
  const n = probs.length;
  const out = Float64Array.from({ length: n }, (_, i) => probs[i]!);
  if (k >= n) return out;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
  const keep = new Set(order.slice(0, k));
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (!keep.has(i)) out[i] = 0;
    else s += out[i]!;
  }
  for (let i = 0; i < n; i++) out[i] = s > 0 ? out[i]! / s : keep.has(i) ? 1 / k : 0;
  return out;
}

export interface RouteOptions {
  readonly temperature?: number;
  /** Keep only the k most probable experts (renormalised). */
  readonly topK?: number;
}

/** The routing weights w for one feature vector: softmax(logits / T), optionally top-k. */
export function routeWeights(m: RouterModel, x: ArrayLike<number>, opts: RouteOptions = {}): Float64Array {
  const p = softmax(routerLogits(m, x), opts.temperature ?? 1);
  return opts.topK !== undefined ? topK(p, opts.topK) : p;
}

export function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}
