import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { knnClassify, type FeatureSet } from '../index';
import { blobs } from './blobs';

beforeAll(async () => {
  await initBackend();
});

describe('knnClassify', () => {
  // Unit vectors at angles (degrees) from the query direction (1, 0); cos(angle) is the similarity.
  const at = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  // Train: A (class 1) at 10°, B (class 0) at 20°, C (class 0) at 25°. Query: (3, 0), i.e. 0°, label 1.
  const train: FeatureSet = { features: Float32Array.from([...at(10), ...at(20), ...at(25)]), n: 3, dim: 2, labels: Int32Array.of(1, 0, 0) };
  const test: FeatureSet = { features: Float32Array.of(3, 0), n: 1, dim: 2, labels: Int32Array.of(1) };
  /** exp(cos(angle) / T): the vote weight of a neighbour at `deg` degrees. */
  const w = (deg: number, T: number) => Math.exp(Math.cos((deg * Math.PI) / 180) / T);

  it('k=2 keeps only A and B; their 1–1 tie goes to the nearer, A: class 1', async () => {
    // By hand, T = 0.07: class 1 = e^(0.9848/0.07) = e^14.07 ≈ 1.29e6 > class 0 = e^(0.9397/0.07) = e^13.42 ≈ 6.8e5.
    // (An unweighted vote would tie and argmax would pick class 0.)
    expect(w(10, 0.07)).toBeGreaterThan(w(20, 0.07));
    const r = await knnClassify(train, test, { k: 2, temperature: 0.07 });
    expect([...r.predictions]).toEqual([1]);
    expect(r.accuracy).toBe(1);
  });

  it('k=2 at T=1 still ignores C (only the top k vote)', async () => {
    // By hand, T = 1: k=2 gives class 1 = e^0.985 ≈ 2.68 > class 0 = e^0.940 ≈ 2.56;
    // letting C vote too would give class 0 = 2.56 + e^0.906 ≈ 5.03.
    expect(w(10, 1)).toBeGreaterThan(w(20, 1));
    expect(w(20, 1) + w(25, 1)).toBeGreaterThan(w(10, 1));
    expect([...(await knnClassify(train, test, { k: 2, temperature: 1 })).predictions]).toEqual([1]);
  });

  it('k=3 with a flat temperature lets the two class-0 votes win', async () => {
    const r = await knnClassify(train, test, { k: 3, temperature: 1 });
    expect([...r.predictions]).toEqual([0]);
    expect(r.accuracy).toBe(0);
  });

  it('k=3 with a sharp temperature lets the single nearest vote win', async () => {
    // T = 0.07: class 1 ≈ 1.29e6; class 0 = e^13.42 + e^12.95 ≈ 6.8e5 + 4.2e5 = 1.10e6.
    expect(w(10, 0.07)).toBeGreaterThan(w(20, 0.07) + w(25, 0.07));
    expect([...(await knnClassify(train, test, { k: 3, temperature: 0.07 })).predictions]).toEqual([1]);
    // A very small T must not overflow exp() into NaN votes.
    expect([...(await knnClassify(train, test, { k: 3, temperature: 0.001 })).predictions]).toEqual([1]);
  });

  it('classifies blobs (≥ 0.95), the same for any chunk size, with no tensors left behind', async () => {
    const before = tf.memory().numTensors;
    const tr = blobs(400, 4, 8, 7);
    const te = blobs(300, 4, 8, 8);
    const r = await knnClassify(tr, te, { k: 20 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    const chunked = await knnClassify(tr, te, { k: 20, chunkSize: 7 });
    expect([...chunked.predictions]).toEqual([...r.predictions]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options and leaks nothing when it throws', async () => {
    const before = tf.memory().numTensors;
    await expect(knnClassify(train, test, { k: 0 })).rejects.toThrow(/field "k" = 0/);
    await expect(knnClassify(train, { ...test, dim: 3, features: new Float32Array(3) })).rejects.toThrow(/2 dimensions but test features 3/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
