import { describe, expect, it } from 'vitest';
import { COLLAPSE_FRACTION, Rng, embeddingStats, symmetricEigenvalues } from '../index';

describe('embeddingStats (collapse monitoring)', () => {
  it('worked cases: two orthogonal rows, and a constant embedding', () => {
    // Columns (1, 0) and (0, 1): each has mean 0.5 and std 0.5; Gram = I → singular values 1, 1 → rank 2.
    const ok = embeddingStats(new Float32Array([1, 0, 0, 1]), 2, 2);
    expect(ok.std).toBeCloseTo(0.5, 10);
    expect(ok.effectiveRank).toBeCloseTo(2, 8);
    expect(ok.collapsed).toBe(false);
    // Every row the same direction (different lengths): std 0, one singular value → rank 1.
    const flat = embeddingStats(new Float32Array([3, 4, 0.6, 0.8, 30, 40]), 3, 2);
    expect(flat.std).toBeLessThan(1e-7);
    expect(flat.effectiveRank).toBeCloseTo(1, 6);
    expect(flat.collapsed).toBe(true);
  });

  it('effective rank is exp(entropy) of normalised singular values: rows e1, e1, e2 give σ = √2, 1', () => {
    const s = embeddingStats(new Float32Array([1, 0, 1, 0, 0, 1]), 3, 2);
    const p = [Math.SQRT2 / (Math.SQRT2 + 1), 1 / (Math.SQRT2 + 1)];
    expect(s.effectiveRank).toBeCloseTo(Math.exp(-p.reduce((a, x) => a + x * Math.log(x), 0)), 8);
  });

  it('isotropic Gaussian embeddings sit near the healthy level 1/√d and are far above the threshold', () => {
    const r = new Rng(3);
    const d = 16;
    const n = 256;
    const s = embeddingStats(
      Float32Array.from({ length: n * d }, () => r.normal()),
      n,
      d,
    );
    expect(Math.abs(s.std - 1 / Math.sqrt(d))).toBeLessThan(0.1 / Math.sqrt(d));
    expect(s.effectiveRank).toBeGreaterThan(14);
    expect(s.std).toBeGreaterThan(COLLAPSE_FRACTION / Math.sqrt(d));
  });

  it('symmetricEigenvalues recovers the spectrum of Q·diag(λ)·Qᵀ', () => {
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    // Q: a rotation in the (0,1) plane composed with one in the (1,2) plane.
    const [c2, s2] = [Math.cos(-1.1), Math.sin(-1.1)];
    const q = [
      [c, -s * c2, s * s2],
      [s, c * c2, -c * s2],
      [0, s2, c2],
    ];
    const lambda = [5, -1, 2];
    const a = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) a[i * 3 + j] = [0, 1, 2].reduce((t, k) => t + q[i]![k]! * lambda[k]! * q[j]![k]!, 0);
    const got = Array.from(symmetricEigenvalues(a, 3)).sort((x, y) => x - y);
    [-1, 2, 5].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 9));
  });
});
