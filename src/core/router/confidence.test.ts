// Confidence on a toy router: thresholds from val set where val lies, a far feature is "far", a
// feature whose class is disabled is "uncertain", and the nearest distance is the brute-force one.
import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import { calibrateConfidence, judgeConfidence, nearestDistance } from './confidence.ts';
import { trainRouter } from './train.ts';

const rng = new Rng(5);
const H = 6;
const centers = [0, 1, 2].map(() => Float32Array.from({ length: H }, () => 4 * rng.normal()));
const sample = (c: number) => Float32Array.from(centers[c]!, (v) => v + 0.3 * rng.normal());
const set = (n: number) => {
  const features: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) (features.push(sample(c)), labels.push(c));
  return { features, labels };
};
const train = set(40);
const val = set(20);
const { model } = trainRouter(train, val, { hidden: [8], seed: 1, numClasses: 3 });

describe('router confidence', () => {
  it('nearest distance is the RMS of the standardized difference to the closest replay feature', () => {
    const x = sample(1);
    const brute = Math.min(...train.features.map((r) => Math.sqrt(r.reduce((s, v, i) => s + ((x[i]! - v) / (model.std[i]! || 1)) ** 2, 0) / H)));
    expect(nearestDistance(model, train.features, x)).toBeCloseTo(brute, 10);
  });

  it('share 0 puts every val prompt inside; a far feature is far; a disabled class makes its prompts uncertain', () => {
    const t = calibrateConfidence(model, train.features, val.features, 0);
    const all = [true, true, true];
    for (const x of val.features) expect(judgeConfidence(model, train.features, x, all, t).confident).toBe(true);
    const far = Float32Array.from(centers[0]!, (v) => v + 40);
    expect(judgeConfidence(model, train.features, far, all, t)).toMatchObject({ confident: false, reason: 'far' });
    const x = sample(2);
    expect(judgeConfidence(model, train.features, x, [true, true, false], t)).toMatchObject({ confident: false, reason: 'uncertain' });
    // A larger share flags about that share of val.
    const t10 = calibrateConfidence(model, train.features, val.features, 0.1);
    const flagged = val.features.filter((v) => !judgeConfidence(model, train.features, v, all, t10).confident).length;
    expect(flagged).toBeGreaterThan(0);
    expect(flagged).toBeLessThanOrEqual(Math.ceil(0.2 * val.features.length) + 1);
  });
});
