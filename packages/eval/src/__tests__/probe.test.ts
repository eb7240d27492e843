import * as tf from '@tensorflow/tfjs';
import { initBackend, SslError } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { linearProbe } from '../index';
import { blobs, randomLabels } from './blobs';

beforeAll(async () => {
  await initBackend();
});

describe('linearProbe', () => {
  it('separates Gaussian blobs (≥ 0.95 test top-1)', async () => {
    const r = await linearProbe(blobs(600, 5, 16, 1), blobs(300, 5, 16, 2), { epochs: 20 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.trainAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.epochs).toBe(20);
  });

  it('stays near chance (< 0.4 for 5 classes) on random labels', async () => {
    const train = randomLabels(blobs(600, 5, 16, 3), 5, 4);
    const test = randomLabels(blobs(400, 5, 16, 5), 5, 6);
    const r = await linearProbe(train, test, { epochs: 20 });
    expect(r.accuracy).toBeLessThan(0.4);
  });

  it('is deterministic for a seed and standardises features (a huge offset/scale changes nothing)', async () => {
    const train = blobs(300, 3, 8, 7);
    const test = blobs(150, 3, 8, 8);
    const a = await linearProbe(train, test, { epochs: 5, seed: 3 });
    expect(await linearProbe(train, test, { epochs: 5, seed: 3 })).toEqual(a);
    const affine = (s: typeof train) => ({ ...s, features: s.features.map((v) => 1000 + 50 * v) });
    const b = await linearProbe(affine(train), affine(test), { epochs: 5, seed: 3 });
    expect(b.accuracy).toBeCloseTo(a.accuracy, 2);
  });

  it('leaves the number of live tensors unchanged', async () => {
    const before = tf.memory().numTensors;
    await linearProbe(blobs(100, 2, 4, 1), blobs(50, 2, 4, 2), { epochs: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects mismatched dims, missing labels and bad options with one-line SslErrors', async () => {
    await expect(linearProbe(blobs(10, 2, 4, 1), blobs(10, 2, 5, 1))).rejects.toThrow(/4 dimensions but test features 5/);
    await expect(linearProbe(blobs(10, 2, 4, 1), { ...blobs(10, 2, 4, 1), labels: undefined })).rejects.toThrow(/test features have none/);
    await expect(linearProbe(blobs(10, 3, 4, 1), blobs(10, 3, 4, 1), { numClasses: 2 })).rejects.toThrow(/Label 2 is out of range for numClasses=2/);
    await expect(linearProbe(blobs(10, 2, 4, 1), blobs(10, 2, 4, 1), { epochs: 0 })).rejects.toThrow(SslError);
    await expect(linearProbe(blobs(10, 2, 4, 1), blobs(10, 2, 4, 1), { epochs: 0 })).rejects.toThrow(/field "epochs" = 0/);
  });
});
