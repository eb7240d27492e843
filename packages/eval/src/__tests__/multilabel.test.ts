import { describe, expect, it } from 'vitest';
import { multiLabelProbe } from '../multilabel';

describe('multiLabelProbe', () => {
  it('recovers labels that are linear in the features and scores them exactly', async () => {
    // Feature j > 0 ⇔ label j present (2 features, 2 labels); bitmask labels.
    const pts = [
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1],
      [2, 0.5],
      [-0.5, -2],
    ];
    const mask = (p: number[]) => (p[0]! > 0 ? 1 : 0) | (p[1]! > 0 ? 2 : 0);
    const set = { features: Float32Array.from(pts.flat()), n: pts.length, dim: 2, labels: Int32Array.from(pts, mask) };
    const r = await multiLabelProbe(set, set, { labels: 2, epochs: 300 });
    expect(r.microF1).toBe(1);
    expect(r.meanAccuracy).toBe(1);
    expect(r.balancedAccuracy).toBe(1);
  });

  it('computes micro-F1 and balanced accuracy by their formulas when it cannot separate', async () => {
    // Identical features, label 0 on 1 of 4 examples: the probe predicts one class for all four.
    const set = { features: new Float32Array(4), n: 4, dim: 1, labels: Int32Array.of(1, 0, 0, 0) };
    const r = await multiLabelProbe(set, set, { labels: 1, epochs: 50 });
    // Predicting all negative: TP 0 → micro-F1 0; TPR 0, TNR 1 → balanced 0.5; accuracy 3/4.
    expect(r.microF1).toBe(0);
    expect(r.balancedAccuracy).toBeCloseTo(0.5);
    expect(r.meanAccuracy).toBeCloseTo(0.75);
    // Class-balanced: the weighted loss is symmetric, z stays at 0 → predicts negative (z > 0 is positive).
    const b = await multiLabelProbe(set, set, { labels: 1, epochs: 50, balance: true });
    expect(b.balancedAccuracy).toBeCloseTo(0.5);
  });
});
