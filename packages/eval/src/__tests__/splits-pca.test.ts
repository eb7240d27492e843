import { Rng, SslError } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { labelFractionSplit, parseLabelFraction, pca2d } from '../index';

describe('labelFractionSplit', () => {
  // Imbalanced on purpose: class c has 100 + 10c rows, interleaved.
  const labels = Int32Array.from(new Rng(0).shuffle([...Array.from({ length: 10 }, (_, c) => Array<number>(100 + 10 * c).fill(c)).flat()]));

  const counts = (idx: Int32Array, l: Int32Array) => {
    const c = new Array<number>(10).fill(0);
    for (const i of idx) c[l[i]!]!++;
    return c;
  };

  it('is class-balanced (±1), about the requested size, unique and sorted', () => {
    const idx = labelFractionSplit(labels, 0.1, 1);
    expect(idx.length).toBe(Math.round(labels.length * 0.1)); // 145
    const c = counts(idx, labels);
    expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
    expect(new Set(idx).size).toBe(idx.length);
    expect([...idx]).toEqual([...idx].sort((a, b) => a - b));
  });

  it('is deterministic per seed and different across seeds', () => {
    expect([...labelFractionSplit(labels, 0.1, 1)]).toEqual([...labelFractionSplit(labels, 0.1, 1)]);
    expect([...labelFractionSplit(labels, 0.1, 2)]).not.toEqual([...labelFractionSplit(labels, 0.1, 1)]);
  });

  it('keeps at least one row per class, and 100 % is everything', () => {
    expect(counts(labelFractionSplit(labels, 0.001, 1), labels)).toEqual(new Array(10).fill(1));
    expect(labelFractionSplit(labels, 1, 1).length).toBe(labels.length);
  });

  it('parses 1% / 10% / 100% and names a bad value in a one-line error', () => {
    expect(parseLabelFraction('1%')).toBeCloseTo(0.01);
    expect(parseLabelFraction(' 10% ')).toBeCloseTo(0.1);
    expect(parseLabelFraction('100%')).toBe(1);
    expect(parseLabelFraction(0.5)).toBe(0.5);
    for (const bad of ['150%', '0%', 'ten%', '', '-5%', '2']) {
      expect(() => parseLabelFraction(bad)).toThrow(SslError);
      expect(() => parseLabelFraction(bad)).toThrow(`Invalid label fraction ${JSON.stringify(bad)}.`);
    }
    expect(() => labelFractionSplit(labels, 0, 1)).toThrow(/Invalid label fraction 0\./);
  });
});

describe('pca2d', () => {
  it('recovers the dominant direction of a stretched cloud, with a fixed sign', () => {
    const rng = new Rng(1);
    const n = 400;
    const dim = 5;
    const dir = [1, -2, 0.5, 0, 1].map((v, _, a) => v / Math.hypot(...a)); // the long axis
    const rows = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const t = rng.normal(0, 10);
      for (let j = 0; j < dim; j++) rows[i * dim + j] = 7 + t * dir[j]! + rng.normal(0, 0.3);
    }
    const xy = pca2d(rows, n, dim);
    expect(xy.length).toBe(2 * n);
    // The first coordinate must equal the (centred) projection on ±dir: |corr| ≈ 1.
    const proj = Array.from({ length: n }, (_, i) => dir.reduce((s, d, j) => s + d * rows[i * dim + j]!, 0));
    const pc1 = Array.from({ length: n }, (_, i) => xy[2 * i]!);
    const corr = pearson(pc1, proj);
    // Sign convention: the largest-magnitude loading (dir's −2 entry) is made positive, so PC1 ∝ −dir.
    expect(corr).toBeLessThan(-0.999);
    let v1 = 0;
    let v2 = 0;
    for (let i = 0; i < n; i++) {
      v1 += xy[2 * i]! ** 2;
      v2 += xy[2 * i + 1]! ** 2;
    }
    expect(v1 / v2).toBeGreaterThan(100);
    expect([...pca2d(rows, n, dim)]).toEqual([...xy]);
  });

  it('rejects a size mismatch', () => {
    expect(() => pca2d(new Float32Array(5), 2, 3)).toThrow(/needs n×dim = 2×3 floats, got 5/);
  });
});

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
