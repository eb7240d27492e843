import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { infoNCELoss, ntXentLoss } from '../index';

beforeAll(async () => {
  await initBackend();
});

const rows = (r: Rng, n: number, d: number) => Array.from({ length: n }, () => Array.from({ length: d }, () => r.normal()));
const unit = (v: number[]) => {
  const s = Math.hypot(...v);
  return v.map((x) => x / s);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** NT-Xent by its definition, in double precision, loop by loop. */
function ntXentByHand(a: number[][], b: number[][], t: number): number {
  const z = [...a, ...b].map(unit);
  const n = a.length;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = (i + n) % (2 * n);
    let denom = 0;
    for (let k = 0; k < 2 * n; k++) if (k !== i) denom += Math.exp(dot(z[i]!, z[k]!) / t);
    total += -Math.log(Math.exp(dot(z[i]!, z[pos]!) / t) / denom);
  }
  return total / (2 * n);
}

describe('ntXentLoss', () => {
  it('matches the definition computed by hand to 1e-5, and is symmetric in the views', () => {
    const r = new Rng(1);
    const a = rows(r, 4, 3);
    const b = rows(r, 4, 3);
    const got = ntXentLoss(tf.tensor2d(a), tf.tensor2d(b), 0.5).dataSync()[0]!;
    expect(Math.abs(got - ntXentByHand(a, b, 0.5))).toBeLessThan(1e-5);
    const swapped = ntXentLoss(tf.tensor2d(b), tf.tensor2d(a), 0.5).dataSync()[0]!;
    expect(Math.abs(swapped - got)).toBeLessThan(1e-6);
  });

  it('a two-example case worked out on paper', () => {
    // z1 = [(1,0), (0,1)], z2 = z1: positives have sim 1, the two negatives sim 0 each.
    // Each anchor: −log(e^{1/τ} / (e^{1/τ} + 2)), τ = 1 → −log(e / (e + 2)).
    const z = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expect(ntXentLoss(z, z, 1).dataSync()[0]).toBeCloseTo(-Math.log(Math.E / (Math.E + 2)), 5);
  });

  it('rejects mismatched views and a non-positive temperature', () => {
    expect(() => ntXentLoss(tf.zeros([2, 3]), tf.zeros([3, 3]))).toThrow(/same shape, got \[2,3\] and \[3,3\]/);
    expect(() => ntXentLoss(tf.zeros([2, 3]), tf.zeros([2, 3]), 0)).toThrow(/temperature must be > 0, got 0/);
  });
});

describe('infoNCELoss', () => {
  function byHand(q: number[][], kp: number[][], neg: number[][][], t: number): number {
    let total = 0;
    q.forEach((qi, i) => {
      const u = unit(qi);
      const pos = Math.exp(dot(u, unit(kp[i]!)) / t);
      const negs = neg[i]!.reduce((s, k) => s + Math.exp(dot(u, unit(k)) / t), 0);
      total += -Math.log(pos / (pos + negs));
    });
    return total / q.length;
  }

  it('per-query negatives [N,K,D] and a shared bank [K,D] match the definition to 1e-5', () => {
    const r = new Rng(2);
    const q = rows(r, 3, 4);
    const kp = rows(r, 3, 4);
    const per = [rows(r, 5, 4), rows(r, 5, 4), rows(r, 5, 4)];
    const got = infoNCELoss(tf.tensor2d(q), tf.tensor2d(kp), tf.tensor3d(per), 0.2).dataSync()[0]!;
    expect(Math.abs(got - byHand(q, kp, per, 0.2))).toBeLessThan(1e-5);
    const bank = rows(r, 6, 4);
    const shared = infoNCELoss(tf.tensor2d(q), tf.tensor2d(kp), tf.tensor2d(bank), 0.2).dataSync()[0]!;
    expect(Math.abs(shared - byHand(q, kp, [bank, bank, bank], 0.2))).toBeLessThan(1e-5);
  });

  it('without normalisation uses raw dot products', () => {
    const q = tf.tensor2d([[2, 0]]);
    const kp = tf.tensor2d([[1, 0]]);
    const neg = tf.tensor2d([[0, 1]]);
    // logits [2, 0] → −log(e² / (e² + 1))
    expect(infoNCELoss(q, kp, neg, 1, { normalize: false }).dataSync()[0]).toBeCloseTo(-Math.log(Math.exp(2) / (Math.exp(2) + 1)), 5);
  });
});
