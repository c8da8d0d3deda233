// Training the router: Adam (optionally AdamW weight decay), seeded init and shuffling, mini-batches,
// cross-entropy, early stopping on a validation split only (never on test), best weights restored.
import { Rng, deriveSeed } from '../tensor/random.ts';
import { argmax, forward, gelu, geluGrad, layerSizes, RouterError, softmax, validateRouter, type Activation, type RouterModel } from './mlp.ts';

/** One feature vector per example prompt, with its class (expert index). */
export interface LabeledFeatures {
  readonly features: readonly Float32Array[];
  readonly labels: readonly number[];
}

export interface TrainOptions {
  /** Hidden sizes (default [64]); [] = linear. */
  readonly hidden?: readonly number[];
  readonly activation?: Activation;
  /** Default: 1 + the largest label. */
  readonly numClasses?: number;
  readonly seed?: number;
  /** Adam step size (default 3e-3). */
  readonly lr?: number;
  /** Maximum epochs (default 100). */
  readonly epochs?: number;
  readonly batchSize?: number;
  /** Decoupled (AdamW) weight decay on the weight matrices (default 0). */
  readonly weightDecay?: number;
  /** Early stopping: epochs without a val-loss improvement before stopping (default 10; needs val). */
  readonly patience?: number;
}

export interface EpochLog {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
}

export interface TrainResult {
  readonly model: RouterModel;
  readonly history: EpochLog[];
  /** The epoch whose weights were kept (the best val loss; the last epoch without val). */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

interface Net {
  sizes: number[];
  activation: Activation;
  W: Float64Array[];
  b: Float64Array[];
}

function checkData(d: LabeledFeatures, dim: number | undefined, classes: number | undefined, what: string): number {
  if (d.features.length !== d.labels.length) throw new RouterError(`${what}: ${d.features.length} feature vectors but ${d.labels.length} labels`);
  if (d.features.length === 0) throw new RouterError(`${what}: no examples`);
  const dd = dim ?? d.features[0]!.length;
  d.features.forEach((f, i) => {
    if (f.length !== dd) throw new RouterError(`${what}: example ${i} has ${f.length} features, expected ${dd}`);
    for (let j = 0; j < f.length; j++) if (!Number.isFinite(f[j]!)) throw new RouterError(`${what}: example ${i} has a non-finite feature at ${j}`);
  });
  d.labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || (classes !== undefined && y >= classes)) throw new RouterError(`${what}: example ${i} has label ${y}, expected an integer in [0, ${classes})`);
  });
  return dd;
}

/** Mean and standard deviation per feature; a (near-)constant feature gets std 1. */
export function featureStats(features: readonly Float32Array[]): { mean: Float32Array; std: Float32Array } {
  const d = features[0]!.length;
  const n = features.length;
  const mean = new Float64Array(d);
  for (const f of features) for (let j = 0; j < d; j++) mean[j] = mean[j]! + f[j]! / n;
  const v = new Float64Array(d);
  for (const f of features) for (let j = 0; j < d; j++) v[j] = v[j]! + (f[j]! - mean[j]!) ** 2 / n;
  let maxStd = 0;
  for (let j = 0; j < d; j++) maxStd = Math.max(maxStd, Math.sqrt(v[j]!));
  const std = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(v[j]!);
    std[j] = s > 1e-6 * maxStd && s > 0 ? s : 1;
  }
  return { mean: Float32Array.from(mean), std };
}

function standardizeAll(features: readonly Float32Array[], mean: Float32Array, std: Float32Array): Float64Array {
  const d = mean.length;
  const X = new Float64Array(features.length * d);
  features.forEach((f, i) => {
    for (let j = 0; j < d; j++) X[i * d + j] = (f[j]! - mean[j]!) / std[j]!;
  });
  return X;
}

function initNet(sizes: number[], activation: Activation, seed: number): Net {
  const rng = new Rng(deriveSeed(seed, 'router-init'));
  const W: Float64Array[] = [];
  const b: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inn = sizes[l]!, out = sizes[l + 1]!;
    const last = l + 2 === sizes.length;
    // He-uniform for layers feeding a ReLU/GELU, Glorot-uniform for the output layer.
    const lim = last ? Math.sqrt(6 / (inn + out)) : Math.sqrt(6 / inn);
    W.push(Float64Array.from({ length: out * inn }, () => (2 * rng.next() - 1) * lim));
    b.push(new Float64Array(out));
  }
  return { sizes, activation, W, b };
}

function netFromModel(m: RouterModel): Net {
  return { sizes: layerSizes(m), activation: m.activation, W: m.layers.map((l) => Float64Array.from(l.W)), b: m.layers.map((l) => Float64Array.from(l.b)) };
}

function modelFromNet(net: Net, mean: Float32Array, std: Float32Array): RouterModel {
  const sizes = net.sizes;
  return {
    inputSize: sizes[0]!,
    hidden: sizes.slice(1, -1),
    numClasses: sizes[sizes.length - 1]!,
    activation: net.activation,
    mean,
    std,
    layers: net.W.map((W, l) => ({ W: Float32Array.from(W), b: Float32Array.from(net.b[l]!) })),
  };
}

/** Loss and (optionally) accumulated gradients for one example; returns the loss and whether argmax == y. */
function example(net: Net, x: Float64Array, xo: number, y: number, gW: Float64Array[] | undefined, gb: Float64Array[] | undefined, scratch: Float64Array[][]): [number, boolean] {
  const { sizes, W, b, activation } = net;
  const L = W.length;
  const [acts, pre, dz] = scratch as [Float64Array[], Float64Array[], Float64Array[]];
  // forward
  for (let l = 0; l < L; l++) {
    const inn = sizes[l]!, out = sizes[l + 1]!;
    const Wl = W[l]!, bl = b[l]!, z = pre[l]!;
    const h = l === 0 ? undefined : acts[l - 1]!;
    for (let o = 0; o < out; o++) {
      let s = bl[o]!;
      const ro = o * inn;
      if (h) for (let i = 0; i < inn; i++) s += Wl[ro + i]! * h[i]!;
      else for (let i = 0; i < inn; i++) s += Wl[ro + i]! * x[xo + i]!;
      z[o] = s;
    }
    if (l < L - 1) {
      const a = acts[l]!;
      if (activation === 'relu') for (let o = 0; o < out; o++) a[o] = z[o]! > 0 ? z[o]! : 0;
      else for (let o = 0; o < out; o++) a[o] = gelu(z[o]!);
    }
  }
  const logits = pre[L - 1]!;
  const p = softmax(logits);
  const loss = -Math.log(Math.max(p[y]!, 1e-300));
  const correct = argmax(logits) === y;
  if (!gW || !gb) return [loss, correct];
  // backward
  const d = dz[L - 1]!;
  for (let o = 0; o < p.length; o++) d[o] = p[o]! - (o === y ? 1 : 0);
  for (let l = L - 1; l >= 0; l--) {
    const inn = sizes[l]!, out = sizes[l + 1]!;
    const dl = dz[l]!, gWl = gW[l]!, gbl = gb[l]!, Wl = W[l]!;
    const h = l === 0 ? undefined : acts[l - 1]!;
    for (let o = 0; o < out; o++) {
      const g = dl[o]!;
      if (g === 0) continue;
      gbl[o] = gbl[o]! + g;
      const ro = o * inn;
      if (h) for (let i = 0; i < inn; i++) gWl[ro + i] = gWl[ro + i]! + g * h[i]!;
      else for (let i = 0; i < inn; i++) gWl[ro + i] = gWl[ro + i]! + g * x[xo + i]!;
    }
    if (l > 0) {
      const dprev = dz[l - 1]!;
      dprev.fill(0);
      for (let o = 0; o < out; o++) {
        const g = dl[o]!;
        if (g === 0) continue;
        const ro = o * inn;
        for (let i = 0; i < inn; i++) dprev[i] = dprev[i]! + Wl[ro + i]! * g;
      }
      const zp = pre[l - 1]!;
      if (activation === 'relu') for (let i = 0; i < inn; i++) dprev[i] = zp[i]! > 0 ? dprev[i]! : 0;
      else for (let i = 0; i < inn; i++) dprev[i] = dprev[i]! * geluGrad(zp[i]!);
    }
  }
  return [loss, correct];
}

function makeScratch(sizes: number[]): Float64Array[][] {
  const L = sizes.length - 1;
  const acts = Array.from({ length: L }, (_, l) => new Float64Array(sizes[l + 1]!));
  const pre = Array.from({ length: L }, (_, l) => new Float64Array(sizes[l + 1]!));
  const dz = Array.from({ length: L }, (_, l) => new Float64Array(sizes[l + 1]!));
  return [acts, pre, dz];
}

function evaluateNet(net: Net, X: Float64Array, y: readonly number[]): { loss: number; accuracy: number } {
  const d = net.sizes[0]!;
  const scratch = makeScratch(net.sizes);
  let loss = 0, ok = 0;
  for (let i = 0; i < y.length; i++) {
    const [l, c] = example(net, X, i * d, y[i]!, undefined, undefined, scratch);
    loss += l;
    if (c) ok++;
  }
  return { loss: loss / y.length, accuracy: ok / y.length };
}

interface FitOptions {
  lr: number;
  epochs: number;
  batchSize: number;
  weightDecay: number;
  patience: number;
  seed: number;
}

/** Adam on all parameters of `net` (in place). Early stopping only when val is given. */
function fit(net: Net, X: Float64Array, y: readonly number[], val: { X: Float64Array; y: readonly number[] } | undefined, o: FitOptions): { history: EpochLog[]; bestEpoch: number; stoppedEarly: boolean } {
  const d = net.sizes[0]!;
  const n = y.length;
  const rng = new Rng(deriveSeed(o.seed, 'router-shuffle'));
  const gW = net.W.map((w) => new Float64Array(w.length));
  const gb = net.b.map((b) => new Float64Array(b.length));
  const mW = net.W.map((w) => new Float64Array(w.length));
  const vW = net.W.map((w) => new Float64Array(w.length));
  const mb = net.b.map((b) => new Float64Array(b.length));
  const vb = net.b.map((b) => new Float64Array(b.length));
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  let step = 0;
  const scratch = makeScratch(net.sizes);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: EpochLog[] = [];
  let best = Infinity, bestEpoch = 0, wait = 0, stoppedEarly = false;
  let bestW: Float64Array[] | undefined, bestB: Float64Array[] | undefined;
  const adam = (p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, decay: number, c1: number, c2: number, scale: number) => {
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! * scale;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! - o.lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + eps) + decay * p[i]!);
    }
  };
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    rng.shuffle(order);
    let lossSum = 0;
    for (let s = 0; s < n; s += o.batchSize) {
      const e = Math.min(n, s + o.batchSize);
      for (const g of gW) g.fill(0);
      for (const g of gb) g.fill(0);
      for (let k = s; k < e; k++) {
        const i = order[k]!;
        lossSum += example(net, X, i * d, y[i]!, gW, gb, scratch)[0];
      }
      step++;
      const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step, scale = 1 / (e - s);
      for (let l = 0; l < net.W.length; l++) {
        adam(net.W[l]!, gW[l]!, mW[l]!, vW[l]!, o.weightDecay, c1, c2, scale);
        adam(net.b[l]!, gb[l]!, mb[l]!, vb[l]!, 0, c1, c2, scale);
      }
    }
    const log: { epoch: number; trainLoss: number; valLoss?: number; valAccuracy?: number } = { epoch, trainLoss: lossSum / n };
    if (val) {
      const ev = evaluateNet(net, val.X, val.y);
      log.valLoss = ev.loss;
      log.valAccuracy = ev.accuracy;
      if (ev.loss < best - 1e-7) {
        best = ev.loss;
        bestEpoch = epoch;
        wait = 0;
        bestW = net.W.map((w) => w.slice());
        bestB = net.b.map((b) => b.slice());
      } else if (++wait >= o.patience) {
        history.push(log);
        stoppedEarly = true;
        break;
      }
    } else bestEpoch = epoch;
    history.push(log);
  }
  if (val && bestW && bestB) {
    net.W = bestW;
    net.b = bestB;
  }
  return { history, bestEpoch, stoppedEarly };
}

function fitOptions(opts: TrainOptions): FitOptions {
  const o: FitOptions = {
    lr: opts.lr ?? 3e-3,
    epochs: opts.epochs ?? 100,
    batchSize: opts.batchSize ?? 32,
    weightDecay: opts.weightDecay ?? 0,
    patience: opts.patience ?? 10,
    seed: opts.seed ?? 0,
  };
  if (!(o.lr > 0)) throw new RouterError(`lr must be > 0, got ${o.lr}`);
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new RouterError(`epochs must be an integer >= 1, got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RouterError(`batchSize must be an integer >= 1, got ${o.batchSize}`);
  if (!(o.weightDecay >= 0)) throw new RouterError(`weightDecay must be >= 0, got ${o.weightDecay}`);
  if (!Number.isInteger(o.patience) || o.patience < 1) throw new RouterError(`patience must be an integer >= 1, got ${o.patience}`);
  return o;
}

/**
 * Trains a router on `train`; with `val`, stops early on the val loss and keeps the best epoch's
 * weights. Features are standardised with the train split's mean/std (stored in the model).
 * Deterministic for a given seed.
 */
export function trainRouter(train: LabeledFeatures, val: LabeledFeatures | undefined, opts: TrainOptions = {}): TrainResult {
  const dim = checkData(train, undefined, opts.numClasses, 'router train split');
  const numClasses = opts.numClasses ?? Math.max(...train.labels) + 1;
  if (numClasses < 2) throw new RouterError('router: need at least 2 classes');
  if (val) checkData(val, dim, numClasses, 'router val split');
  const hidden = [...(opts.hidden ?? [64])];
  hidden.forEach((h) => {
    if (!Number.isInteger(h) || h < 1) throw new RouterError(`router: hidden sizes must be integers >= 1, got [${hidden.join(', ')}]`);
  });
  const activation = opts.activation ?? 'relu';
  const fo = fitOptions(opts);
  const { mean, std } = featureStats(train.features);
  const net = initNet([dim, ...hidden, numClasses], activation, fo.seed);
  const X = standardizeAll(train.features, mean, std);
  const V = val ? { X: standardizeAll(val.features, mean, std), y: val.labels } : undefined;
  const r = fit(net, X, train.labels, V, fo);
  return { model: modelFromNet(net, mean, std), ...r };
}

/** Accuracy and mean cross-entropy of a router on labelled features. */
export function evaluateRouter(m: RouterModel, data: LabeledFeatures): { accuracy: number; loss: number } {
  validateRouter(m);
  checkData(data, m.inputSize, m.numClasses, 'router evaluation');
  return evaluateNet(netFromModel(m), standardizeAll(data.features, m.mean, m.std), data.labels);
}

export interface ExtendOptions extends Pick<TrainOptions, 'lr' | 'epochs' | 'batchSize' | 'weightDecay' | 'seed'> {
  /**
   * 'last' (default): keep the hidden layers and the standardisation, retrain only the output layer
   * (old rows warm-started, one new row) on the replayed old features + the new class: fast, and the
   * old classes' decision geometry is kept. 'full': warm-start and retrain every layer.
   */
  readonly mode?: 'last' | 'full';
}

/**
 * Adds one class (the new expert, index = old numClasses) to a trained router. `replay` are the
 * original classes' example features (the app keeps them); `newClass` the new expert's examples.
 */
export function extendRouter(m: RouterModel, replay: LabeledFeatures, newClass: readonly Float32Array[], opts: ExtendOptions = {}): TrainResult {
  validateRouter(m);
  checkData(replay, m.inputSize, m.numClasses, 'router replay features');
  checkData({ features: newClass, labels: newClass.map(() => 0) }, m.inputSize, undefined, 'new class features');
  const C = m.numClasses;
  const features = [...replay.features, ...newClass];
  const labels = [...replay.labels, ...newClass.map(() => C)];
  const fo = fitOptions({ epochs: 60, ...opts });
  const rng = new Rng(deriveSeed(fo.seed, 'router-extend-init'));
  const mode = opts.mode ?? 'last';
  const old = netFromModel(m);
  // Output layer with one more row: the old rows copied, the new row small random.
  const L = old.W.length;
  const hLast = old.sizes[L - 1]!;
  const Wout = new Float64Array((C + 1) * hLast);
  Wout.set(old.W[L - 1]!);
  const lim = Math.sqrt(6 / (hLast + C + 1)) * 0.1;
  for (let i = C * hLast; i < Wout.length; i++) Wout[i] = (2 * rng.next() - 1) * lim;
  const bout = new Float64Array(C + 1);
  bout.set(old.b[L - 1]!);
  const X = standardizeAll(features, m.mean, m.std);
  if (mode === 'full') {
    const net: Net = { sizes: [...old.sizes.slice(0, -1), C + 1], activation: m.activation, W: [...old.W.slice(0, -1), Wout], b: [...old.b.slice(0, -1), bout] };
    const r = fit(net, X, labels, undefined, fo);
    return { model: modelFromNet(net, m.mean, m.std), ...r };
  }
  // 'last': penultimate activations of every example under the frozen hidden layers.
  const n = labels.length;
  const H = new Float64Array(n * hLast);
  if (L === 1) H.set(X);
  else {
    const frozen: RouterModel = { ...m, hidden: m.hidden.slice(0, -1), numClasses: hLast, layers: m.layers.slice(0, -1) };
    features.forEach((f, i) => {
      const { acts } = forward(frozen, f);
      const zLast = acts[acts.length - 1]!; // pre-activation of the last hidden layer
      for (let j = 0; j < hLast; j++) H[i * hLast + j] = m.activation === 'relu' ? Math.max(0, zLast[j]!) : gelu(zLast[j]!);
    });
  }
  const head: Net = { sizes: [hLast, C + 1], activation: m.activation, W: [Wout], b: [bout] };
  const r = fit(head, H, labels, undefined, fo);
  const layers = [...m.layers.slice(0, -1), { W: Float32Array.from(head.W[0]!), b: Float32Array.from(head.b[0]!) }];
  return { model: { ...m, numClasses: C + 1, layers }, ...r };
}
