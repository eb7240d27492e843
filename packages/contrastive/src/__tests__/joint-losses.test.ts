import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { barlowTwinsLoss, byolLoss, crossCorrelation, dinoLoss, sinkhornKnopp, swappedPrediction, vicregTerms } from '../index';

beforeAll(async () => {
  await initBackend();
});

// Independent computations in plain JS loops (double precision); the library uses tfjs ops.
type M = number[][];
const rows = (r: Rng, n: number, d: number): M => Array.from({ length: n }, () => Array.from({ length: d }, () => r.normal()));
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
const col = (m: M, j: number) => m.map((r) => r[j]!);
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const value = (t: tf.Tensor) => t.dataSync()[0]!;
const logSoftmax = (v: number[]) => {
  const mx = Math.max(...v);
  const lse = mx + Math.log(v.reduce((s, x) => s + Math.exp(x - mx), 0));
  return v.map((x) => x - lse);
};
const softmax = (v: number[]) => logSoftmax(v).map(Math.exp);

describe('byolLoss', () => {
  it('is 2 − 2·cos averaged over rows, by hand and on a worked case', () => {
    const r = new Rng(1);
    const p = rows(r, 5, 4);
    const z = rows(r, 5, 4);
    const byHand = mean(p.map((pi, i) => 2 - 2 * cos(pi, z[i]!)));
    expect(Math.abs(value(byolLoss(tf.tensor2d(p), tf.tensor2d(z))) - byHand)).toBeLessThan(1e-5);
    // Worked: p = (1, 0), z = (1, 1): cos = 1/√2, loss = 2 − √2; p = (0, 2), z = (0, 5): loss 0. Mean (2 − √2)/2.
    expect(
      value(
        byolLoss(
          tf.tensor2d([
            [1, 0],
            [0, 2],
          ]),
          tf.tensor2d([
            [1, 1],
            [0, 5],
          ]),
        ),
      ),
    ).toBeCloseTo((2 - Math.SQRT2) / 2, 6);
  });
});

describe('Barlow Twins', () => {
  it('C equals the hand-computed cross-correlation of batch-standardised embeddings', () => {
    const r = new Rng(2);
    const a = rows(r, 6, 3);
    const b = rows(r, 6, 3);
    const standardise = (m: M) => {
      const stats = [0, 1, 2].map((j) => {
        const c = col(m, j);
        const mu = mean(c);
        return { mu, sd: Math.sqrt(mean(c.map((x) => (x - mu) ** 2)) + 1e-5) };
      });
      return m.map((row) => row.map((x, j) => (x - stats[j]!.mu) / stats[j]!.sd));
    };
    const [an, bn] = [standardise(a), standardise(b)];
    const c = [0, 1, 2].map((i) => [0, 1, 2].map((j) => an.reduce((s, row, k) => s + row[i]! * bn[k]![j]!, 0) / 6));
    const got = crossCorrelation(tf.tensor2d(a), tf.tensor2d(b)).arraySync();
    got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - c[i]![j]!)).toBeLessThan(1e-5)));
    let loss = 0;
    c.forEach((row, i) => row.forEach((v, j) => (loss += i === j ? (1 - v) ** 2 : 5e-3 * v * v)));
    expect(Math.abs(value(barlowTwinsLoss(tf.tensor2d(a), tf.tensor2d(b), 5e-3)) - loss)).toBeLessThan(1e-4);
  });

  it('a 2×2 case worked out on paper: C = [[−1, 1], [−1, 1]], loss 4 + 2λ', () => {
    // z1 columns [1,3] and [2,4] standardise to [−1,1]; z2 columns [1,0] → [1,−1], [0,1] → [−1,1].
    const z1 = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const z2 = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const c = crossCorrelation(z1, z2).arraySync();
    [
      [-1, 1],
      [-1, 1],
    ].forEach((row, i) => row.forEach((v, j) => expect(c[i]![j]).toBeCloseTo(v, 4)));
    // On-diagonal (1 − (−1))² + (1 − 1)² = 4; off-diagonal λ(1² + (−1)²) = 2λ.
    expect(value(barlowTwinsLoss(z1, z2, 0.5))).toBeCloseTo(5, 3);
  });
});

describe('VICReg', () => {
  it('each term matches a hand computation; the loss weights them 25/25/1', () => {
    const r = new Rng(3);
    const a = rows(r, 5, 3).map((row) => row.map((x) => 0.4 * x));
    const b = rows(r, 5, 3).map((row) => row.map((x) => 0.4 * x + 0.2));
    const n = 5;
    const d = 3;
    const invariance = mean(a.flatMap((row, i) => row.map((x, j) => (x - b[i]![j]!) ** 2)));
    const perView = (m: M) => {
      const mu = [0, 1, 2].map((j) => mean(col(m, j)));
      const cov = (i: number, j: number) => m.reduce((s, row) => s + (row[i]! - mu[i]!) * (row[j]! - mu[j]!), 0) / (n - 1);
      const hinge = mean([0, 1, 2].map((j) => Math.max(0, 1 - Math.sqrt(cov(j, j) + 1e-4))));
      let off = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j) off += cov(i, j) ** 2;
      return { hinge, off: off / d };
    };
    const [va, vb] = [perView(a), perView(b)];
    const t = vicregTerms(tf.tensor2d(a), tf.tensor2d(b));
    expect(Math.abs(value(t.invariance) - invariance)).toBeLessThan(1e-5);
    expect(Math.abs(value(t.variance) - (va.hinge + vb.hinge) / 2)).toBeLessThan(1e-5);
    expect(Math.abs(value(t.covariance) - (va.off + vb.off))).toBeLessThan(1e-5);
    expect(va.hinge).toBeGreaterThan(0.1); // the hinge is active on these small-variance inputs
    const total = 25 * invariance + (25 * (va.hinge + vb.hinge)) / 2 + (va.off + vb.off);
    expect(Math.abs(value(t.loss) - total)).toBeLessThan(1e-4);
  });

  it('a worked case: identical views with std ≥ 1 and uncorrelated columns give loss 0', () => {
    // Columns (2, −2, 0, 0) and (0, 0, 2, −2): unbiased variance 8/3 > 1, covariance 0, MSE 0.
    const z = tf.tensor2d([
      [2, 0],
      [-2, 0],
      [0, 2],
      [0, -2],
    ]);
    expect(value(vicregTerms(z, z).loss)).toBeCloseTo(0, 6);
  });
});

describe('Sinkhorn-Knopp (SwAV codes)', () => {
  /** The same algorithm written with loops: Q = exp(S/ε)ᵀ, total 1, then rows 1/K and columns 1/B, ×B. */
  function sinkhornByHand(s: M, eps: number, iters: number): M {
    const b = s.length;
    const k = s[0]!.length;
    let q = Array.from({ length: k }, (_, p) => Array.from({ length: b }, (_, i) => Math.exp(s[i]![p]! / eps)));
    const total = q.flat().reduce((x, y) => x + y, 0);
    q = q.map((r) => r.map((x) => x / total));
    for (let it = 0; it < iters; it++) {
      q = q.map((r) => {
        const sum = r.reduce((x, y) => x + y, 0);
        return r.map((x) => x / sum / k);
      });
      const colSums = Array.from({ length: b }, (_, i) => q.reduce((x, r) => x + r[i]!, 0));
      q = q.map((r) => r.map((x, i) => x / colSums[i]! / b));
    }
    return Array.from({ length: b }, (_, i) => Array.from({ length: k }, (_, p) => q[p]![i]! * b));
  }

  it('codes sum to 1 per sample, spread the batch evenly over prototypes, and match a loop implementation', () => {
    const r = new Rng(4);
    // Cosine-like scores in [−0.5, 0.5] biased towards prototype 0, so equipartition has work to do.
    const s = rows(r, 32, 4).map((row) => row.map((x, p) => 0.4 * Math.tanh(x) + (p === 0 ? 0.05 : 0)));
    const q = sinkhornKnopp(tf.tensor2d(s), 0.05, 3).arraySync();
    const ref = sinkhornByHand(s, 0.05, 3);
    q.forEach((row, i) => row.forEach((v, p) => expect(Math.abs(v - ref[i]![p]!)).toBeLessThan(1e-4)));
    q.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    // Each prototype receives ≈ B/K = 8 samples' worth of mass (3 iterations: approximately),
    // much closer to uniform than the plain softmax of the same scores.
    const marginalsOf = (m: M) => [0, 1, 2, 3].map((p) => m.reduce((a, row) => a + row[p]!, 0));
    const worst = (m: M) => Math.max(...marginalsOf(m).map((x) => Math.abs(x - 8)));
    const soft = s.map((row) => softmax(row.map((x) => x / 0.05)));
    expect(worst(q)).toBeLessThan(0.1 * 8);
    expect(worst(soft)).toBeGreaterThan(2 * worst(q));
    // More iterations converge to exactly uniform marginals.
    const q50 = sinkhornKnopp(tf.tensor2d(s), 0.05, 50).arraySync();
    [0, 1, 2, 3].forEach((p) => expect(q50.reduce((a, row) => a + row[p]!, 0)).toBeCloseTo(8, 2));
  });

  it('passes no gradient to the scores', () => {
    const s = tf.tensor2d([
      [0.1, 0.5],
      [0.3, -0.2],
    ]);
    const g = tf.grad((x: tf.Tensor) =>
      sinkhornKnopp(x as tf.Tensor2D)
        .mul(
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
        )
        .sum(),
    )(s);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0]);
  });
});

describe('swappedPrediction and dinoLoss', () => {
  it('swapped prediction is −mean Σ q·log softmax(s/τ), by hand', () => {
    const r = new Rng(5);
    const q = rows(r, 4, 3).map((row) => softmax(row));
    const s = rows(r, 4, 3);
    const byHand = mean(q.map((qi, i) => -logSoftmax(s[i]!.map((x) => x / 0.1)).reduce((a, l, k) => a + qi[k]! * l, 0)));
    expect(Math.abs(value(swappedPrediction(tf.tensor2d(q), tf.tensor2d(s), 0.1)) - byHand)).toBeLessThan(1e-4);
  });

  it('DINO: centred, sharpened teacher vs student, averaged over pairs of different views, by hand', () => {
    const r = new Rng(6);
    const students = [rows(r, 3, 4), rows(r, 3, 4), rows(r, 3, 4)]; // 2 global views + 1 local
    const teachers = [rows(r, 3, 4), rows(r, 3, 4)];
    const center = [0.2, -0.1, 0.05, 0];
    let total = 0;
    let pairs = 0;
    teachers.forEach((t, i) =>
      students.forEach((s, v) => {
        if (v === i) return;
        total += mean(
          t.map((ti, b) => {
            const pt = softmax(ti.map((x, k) => (x - center[k]!) / 0.04));
            const ls = logSoftmax(s[b]!.map((x) => x / 0.1));
            return -pt.reduce((a, p, k) => a + p * ls[k]!, 0);
          }),
        );
        pairs++;
      }),
    );
    expect(pairs).toBe(4);
    const got = value(
      dinoLoss(
        students.map((m) => tf.tensor2d(m)),
        teachers.map((m) => tf.tensor2d(m)),
        tf.tensor2d([center]),
        0.1,
        0.04,
      ),
    );
    expect(Math.abs(got - total / pairs)).toBeLessThan(1e-3 * Math.max(1, total / pairs));
  });
});
