import { describe, expect, it } from 'vitest';
import { MAX_DELTAS_IN_A_ROW, planCompose } from './composePlan.ts';

const m = (o: Record<string, number>) => new Map(Object.entries(o));

describe('planCompose', () => {
  it('updates in place only when fewer experts move than a full composition adds', () => {
    expect(planCompose(undefined, m({ a: 1 }), 0)).toEqual({ kind: 'full', weights: m({ a: 1 }) });
    // Top-2 set unchanged, one weight moved.
    const moved = planCompose(m({ a: 0.6, b: 0.3, c: 0.1 }), m({ a: 0.6, b: 0.25, c: 0.15 }), 0);
    expect(moved.kind).toBe('delta');
    expect([...moved.weights.keys()]).toEqual(['b', 'c']);
    expect(moved.weights.get('b')).toBeCloseTo(-0.05, 12);
    expect(moved.weights.get('c')).toBeCloseTo(0.05, 12);
    // An expert joins.
    expect(planCompose(m({ a: 0.6, b: 0.4 }), m({ a: 0.6, b: 0.4, c: 0.2 }), 0)).toEqual({ kind: 'delta', weights: m({ c: 0.2 }) });
    // Top-1 switches: a delta would touch two experts, a full composition one.
    expect(planCompose(m({ a: 1 }), m({ b: 1 }), 0).kind).toBe('full');
    // Everything moved: as costly as composing from scratch, which is exact.
    expect(planCompose(m({ a: 0.5, b: 0.5 }), m({ a: 0.7, b: 0.3 }), 0).kind).toBe('full');
    // Back to the shared model alone.
    expect(planCompose(m({ a: 1 }), m({}), 0).kind).toBe('full');
  });

  it('composes from scratch after MAX_DELTAS_IN_A_ROW updates', () => {
    const prev = m({ a: 0.6, b: 0.3, c: 0.1 });
    const next = m({ a: 0.6, b: 0.3, c: 0.2 });
    expect(planCompose(prev, next, MAX_DELTAS_IN_A_ROW - 1).kind).toBe('delta');
    expect(planCompose(prev, next, MAX_DELTAS_IN_A_ROW).kind).toBe('full');
  });
});
