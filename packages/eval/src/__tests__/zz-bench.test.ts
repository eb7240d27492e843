import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@ssl/core';
import { it } from 'vitest';
import { linearProbe, knnClassify, type FeatureSet } from '../index';

function blobs(n: number, classes: number, dim: number, seed: number, spread = 1): FeatureSet {
  const rng = new Rng(seed);
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) features[i * dim + j] = (j % classes === c ? 1 : 0) + rng.normal(0, spread);
  }
  return { features, n, dim, labels };
}
it('bench', async () => {
  console.log((await initBackend()).name);
  const tr = blobs(60000, 10, 128, 1), te = blobs(10000, 10, 128, 2);
  const E = Number(process.env.E ?? 2);
  let t = performance.now();
  const r = await linearProbe(tr, te, { epochs: E });
  console.log('probe', E, 'epochs', ((performance.now() - t) / 1000).toFixed(2), 's', r);
  t = performance.now();
  const k = await knnClassify(tr, te, {});
  console.log('knn', ((performance.now() - t) / 1000).toFixed(2), 's', k.accuracy, tf.memory().numTensors);
}, 600000);
