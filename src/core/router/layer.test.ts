import { describe, expect, it } from 'vitest';
import { chooseRouterLayer } from './layer.ts';

describe('chooseRouterLayer', () => {
  const acc = [
    { layer: 4, val: 0.99 },
    { layer: 1, val: 0.9 },
    { layer: 2, val: 0.985 },
    { layer: 3, val: 1.0 },
  ];
  it('takes the smallest layer within half a point of the last layer', () => {
    expect(chooseRouterLayer(acc)).toBe(2);
    expect(chooseRouterLayer(acc, 'auto', 0)).toBe(3);
    expect(chooseRouterLayer([{ layer: 1, val: 0.5 }, { layer: 2, val: 0.4 }])).toBe(1);
  });
  it('counts exactly 0.5 point below as within', () => {
    expect(chooseRouterLayer([{ layer: 1, val: 199 / 200 }, { layer: 2, val: 0.9 }, { layer: 3, val: 1 }])).toBe(1);
  });
  it("keeps the paper's last-layer router, or a given layer, when asked", () => {
    expect(chooseRouterLayer(acc, 'last')).toBe(4);
    expect(chooseRouterLayer(acc, 1)).toBe(1);
    expect(() => chooseRouterLayer(acc, 7)).toThrow(/layer 7/);
    expect(() => chooseRouterLayer([])).toThrow();
  });
});
