import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import {
  evaluateRouter,
  extendRouter,
  routerFromTensors,
  routerToTensors,
  routeWeights,
  softmax,
  topK,
  trainRouter,
  type LabeledFeatures,
} from './index.ts';

/** Gaussian blobs: class c centred at a random point (seeded), spread sigma. */
function blobs(classes: number[], perClass: number, dim: number, seed: number, sigma = 1, centresSeed = 1000): LabeledFeatures {
  const rc = new Rng(centresSeed);
  const centres = Array.from({ length: 16 }, () => Float32Array.from({ length: dim }, () => rc.normal() * 0.5 + 3 * (rc.next() - 0.5)));
  const rng = new Rng(seed);
  const features: Float32Array[] = [];
  const labels: number[] = [];
  for (const c of classes)
    for (let i = 0; i < perClass; i++) {
      features.push(Float32Array.from(centres[c]!, (m) => m + sigma * rng.normal() + 5));
      labels.push(c);
    }
  return { features, labels };
}

describe('routing math', () => {
  it('softmax with temperature', () => {
    const p = softmax([1, 2, 3]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0]! + e[1]! + e[2]!;
    p.forEach((x, i) => expect(x).toBeCloseTo(e[i]! / s, 12));
    const hot = softmax([1, 2, 3], 0.01);
    expect(hot[2]).toBeCloseTo(1, 10);
    const flat = softmax([1, 2, 3], 1e6);
    flat.forEach((x) => expect(x).toBeCloseTo(1 / 3, 5));
    expect(Array.from(softmax([1000, 1000]))).toEqual([0.5, 0.5]); // stable
    expect(() => softmax([1], 0)).toThrow(/temperature/);
  });
  it('top-k keeps the k largest and renormalises; ties keep the lower index', () => {
    expect(Array.from(topK([0.1, 0.5, 0.4], 2)).map((x) => +x.toFixed(12))).toEqual([0, 0.555555555556, 0.444444444444]);
    expect(Array.from(topK([0.25, 0.25, 0.5], 2))).toEqual([1 / 3, 0, 2 / 3]);
    expect(Array.from(topK([0.2, 0.8], 5))).toEqual([0.2, 0.8]);
    expect(Array.from(topK([0.2, 0.8], 1))).toEqual([0, 1]);
    expect(() => topK([1], 0)).toThrow();
  });
});

describe('router training', () => {
  const dim = 32;
  const train = blobs([0, 1, 2, 3], 40, dim, 1);
  const val = blobs([0, 1, 2, 3], 15, dim, 2);
  const test = blobs([0, 1, 2, 3], 25, dim, 3);

  it('learns separable Gaussian blobs to 100% (MLP ReLU, MLP GELU, linear)', () => {
    for (const opts of [{ hidden: [32] }, { hidden: [16, 16], activation: 'gelu' as const }, { hidden: [] }]) {
      const r = trainRouter(train, val, { ...opts, seed: 5 });
      expect(evaluateRouter(r.model, test).accuracy).toBe(1);
      expect(r.bestEpoch).toBeGreaterThan(0);
    }
  });
  it('is deterministic by seed; a different seed gives different weights', () => {
    const a = trainRouter(train, val, { hidden: [16], seed: 9, epochs: 5 });
    const b = trainRouter(train, val, { hidden: [16], seed: 9, epochs: 5 });
    const c = trainRouter(train, val, { hidden: [16], seed: 10, epochs: 5 });
    expect(Array.from(a.model.layers[0]!.W)).toEqual(Array.from(b.model.layers[0]!.W));
    expect(a.history).toEqual(b.history);
    expect(Array.from(a.model.layers[0]!.W)).not.toEqual(Array.from(c.model.layers[0]!.W));
  });
  it('early-stops on the val split and keeps the best epoch', () => {
    // noisy, overlapping classes so val loss turns up
    const tr = blobs([0, 1], 20, 64, 11, 6);
    const va = blobs([0, 1], 20, 64, 12, 6);
    const r = trainRouter(tr, va, { hidden: [64], seed: 1, epochs: 300, patience: 5, lr: 1e-2 });
    expect(r.stoppedEarly).toBe(true);
    const bestLoss = Math.min(...r.history.map((h) => h.valLoss!));
    expect(r.history.find((h) => h.epoch === r.bestEpoch)!.valLoss).toBe(bestLoss);
    expect(evaluateRouter(r.model, va).loss).toBeCloseTo(bestLoss, 5);
    // no val split: runs all epochs
    const nv = trainRouter(tr, undefined, { hidden: [8], seed: 1, epochs: 7 });
    expect([nv.history.length, nv.bestEpoch, nv.stoppedEarly]).toEqual([7, 7, false]);
  });
  it('routeWeights sums to 1 and follows temperature / top-k', () => {
    const r = trainRouter(train, val, { hidden: [16], seed: 2 });
    const x = test.features[0]!;
    const w = routeWeights(r.model, x);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[test.labels[0]!]!).toBeGreaterThan(0.5);
    const k1 = routeWeights(r.model, x, { topK: 1 });
    expect(k1[test.labels[0]!]).toBe(1);
    const cold = routeWeights(r.model, x, { temperature: 100 });
    expect(Math.max(...cold)).toBeLessThan(Math.max(...w));
  });
  it('rejects bad data with clear errors', () => {
    expect(() => trainRouter({ features: [new Float32Array(2)], labels: [0, 1] }, undefined)).toThrow(/1 feature vectors but 2 labels/);
    expect(() => trainRouter({ features: [new Float32Array(2), new Float32Array(3)], labels: [0, 1] }, undefined)).toThrow(/example 1 has 3 features/);
    expect(() => trainRouter({ features: [new Float32Array([NaN])], labels: [0] }, undefined)).toThrow(/non-finite/);
    expect(() => trainRouter(train, { features: [new Float32Array(dim)], labels: [7] }, { numClasses: 4 })).toThrow(/label 7/);
  });
  it('serialises to named Float32Arrays and back (identical outputs)', () => {
    const r = trainRouter(train, val, { hidden: [16, 8], activation: 'gelu', seed: 3, epochs: 5 });
    const { tensors, metadata } = routerToTensors(r.model);
    expect([...tensors.keys()]).toEqual(['mean', 'std', 'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    expect(tensors.get('layers.0.weight')!.shape).toEqual([16, dim]);
    expect(metadata).toMatchObject({ format: 'twinmerge-router', activation: 'gelu', hidden: '[16,8]' });
    const back = routerFromTensors(tensors, metadata);
    expect(Array.from(routeWeights(back, test.features[3]!))).toEqual(Array.from(routeWeights(r.model, test.features[3]!)));
    const broken = new Map(tensors);
    broken.set('layers.1.weight', { shape: [8, 15], data: new Float32Array(120) });
    expect(() => routerFromTensors(broken, metadata)).toThrow(/layers.1.weight is \[8, 15\]/);
    const extra = new Map(tensors);
    extra.set('foo', { shape: [1], data: new Float32Array(1) });
    expect(() => routerFromTensors(extra)).toThrow(/unexpected tensor "foo"/);
  });
});

describe('extendRouter', () => {
  for (const dim of [128, 576]) {
    it(`adds a class quickly, keeps the old accuracy and learns the new class (${dim}-d, 32 new examples)`, () => {
      const train = blobs([0, 1, 2, 3], 32, dim, 21);
      const val = blobs([0, 1, 2, 3], 8, dim, 22);
      const test = blobs([0, 1, 2, 3], 25, dim, 23);
      const r = trainRouter(train, val, { hidden: [64], seed: 4 });
      expect(evaluateRouter(r.model, test).accuracy).toBe(1);
      const fresh = blobs([4], 32, dim, 24);
      const freshTest = blobs([4], 25, dim, 25);
      for (const mode of ['last', 'full'] as const) {
        const t0 = performance.now();
        const ext = extendRouter(r.model, train, fresh.features, { mode, seed: 1 });
        const ms = performance.now() - t0;
        console.log(`extendRouter ${mode} (${dim}-d, 4x32 replayed + 32 new, hidden [64]): ${ms.toFixed(0)} ms`);
        expect(ext.model.numClasses).toBe(5);
        expect(evaluateRouter(ext.model, test).accuracy).toBe(1);
        expect(evaluateRouter(ext.model, { features: freshTest.features, labels: freshTest.labels }).accuracy).toBe(1);
        if (mode === 'last') {
          expect(ms).toBeLessThan(2000);
          // hidden layers and standardisation untouched
          expect(ext.model.layers[0]).toBe(r.model.layers[0]);
          expect(ext.model.mean).toBe(r.model.mean);
        }
      }
    });
  }
  it('extends a linear router too', () => {
    const train = blobs([0, 1, 2], 20, 24, 31);
    const r = trainRouter(train, undefined, { hidden: [], seed: 1, epochs: 50 });
    const fresh = blobs([3], 20, 24, 32);
    const ext = extendRouter(r.model, train, fresh.features);
    expect(evaluateRouter(ext.model, { features: [...train.features, ...fresh.features], labels: [...train.labels, ...fresh.labels] }).accuracy).toBe(1);
  });
});
