// ESM consumer of the packed @ssl/context alone (with its declared @ssl dependencies): a short
// rotation pretrain, then a nearest-class-mean probe on the encoder's features.
import { initBackend, train } from '@ssl/core';
import { rotationTask } from '@ssl/context';
import { loadMnist, type ImageDataset } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import type * as tfTypes from '@tensorflow/tfjs';

function features(encoder: tfTypes.LayersModel, ds: ImageDataset, tf: typeof tfTypes): number[][] {
  const b = ds.batch(Int32Array.from({ length: ds.size }, (_, i) => i));
  return tf.tidy(() => (encoder.predict(tf.tensor4d(b.images, [b.n, b.height, b.width, b.channels])) as tfTypes.Tensor2D).arraySync());
}

const tf = await import('@tensorflow/tfjs');
const backend = await initBackend();
const encoder = createConvNet({ widths: [8, 16, 32], seed: 0 });
const result = await train({ task: rotationTask, encoder, source: loadMnist('train', { limit: 256 }), config: { epochs: 1, batchSize: 32 } });
const trainSet = loadMnist('train', { limit: 1000 });
const testSet = loadMnist('test', { limit: 300 });
const ftr = features(encoder, trainSet, tf);
const fte = features(encoder, testSet, tf);
const d = ftr[0]!.length;
const means = Array.from({ length: 10 }, () => new Float64Array(d));
const counts = new Array(10).fill(0);
ftr.forEach((f, i) => {
  const c = trainSet.labels![i]!;
  counts[c]++;
  f.forEach((v, j) => (means[c]![j]! += v));
});
means.forEach((m, c) => m.forEach((v, j) => (m[j] = v / Math.max(1, counts[c]))));
const nearest = (f: number[]) => means.map((m) => m.reduce((s, v, j) => s + (v - f[j]!) ** 2, 0)).reduce((best, dist, c, all) => (dist < all[best]! ? c : best), 0);
const acc = fte.filter((f, i) => nearest(f) === testSet.labels![i]).length / fte.length;
const out = { consumer: 'esm', package: '@ssl/context', backend: backend.name, steps: result.steps, finalLoss: result.history.at(-1)!.loss, nearestMeanProbe: acc };
console.log(JSON.stringify(out));
if (!(acc > 0.3) || !Number.isFinite(out.finalLoss)) throw new Error(`context consumer failed: ${JSON.stringify(out)}`);
