import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageTransformSet } from '@ssl/core';
import { jointLabelAccuracy, jointLabelTask } from '../joint';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

// Exact quarter turns of square single-channel images (an independent implementation for the test).
const rotateFn: ImageTransformSet['apply'] = (images, n, h, w, c) => {
  const size = h * w * c;
  const out = new Float32Array(4 * size * n);
  const labels = new Int32Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 4; r++) {
      labels[4 * i + r] = r;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let [sy, sx] = [y, x];
          for (let k = 0; k < r; k++) [sy, sx] = [w - 1 - sx, sy];
          out[(4 * i + r) * size + y * w + x] = images[i * size + sy * w + sx]!;
        }
      }
    }
  }
  return { images: out, labels };
};
const rotate: ImageTransformSet = { count: 4, apply: rotateFn };

function source(labels: Int32Array): DataSource<ImageBatch> {
  const rng = new Rng(2);
  const images = Float32Array.from({ length: labels.length * 9 }, () => rng.float());
  return {
    modality: 'image',
    size: labels.length,
    batch: (idx) => ({
      modality: 'image',
      images: Float32Array.from({ length: idx.length * 9 }, (_, j) => images[idx[Math.floor(j / 9)]! * 9 + (j % 9)]!),
      n: idx.length,
      height: 3,
      width: 3,
      channels: 1,
      labels: Int32Array.from(idx, (i) => labels[i]!),
      indices: Int32Array.from(idx),
    }),
  };
}

describe('joint (class, rotation) label task', () => {
  it('labels the copy of class c at rotation r as 4c + r, and keeps unlabelled rows at -1', () => {
    const task = jointLabelTask(rotate, 'rotation');
    const raw = source(Int32Array.of(2, -1, 0)).batch(Int32Array.of(0, 1, 2), new Rng(0));
    const y = tf.tidy(() => Array.from(task.prepare(raw, { config: { numClasses: 3 }, rng: new Rng(0), training: true }).y!.dataSync()));
    expect(y).toEqual([8, 9, 10, 11, -1, -1, -1, -1, 0, 1, 2, 3]);
    expect(task.examplesPerInput!({ numClasses: 3 })).toBe(4);
    expect(task.createHeads({ config: { numClasses: 3 }, featureDim: 5, inputShape: [3, 3, 1], seed: 0 }).classifier.outputs[0]!.shape).toEqual([null, 12]);
  });

  it('test accuracy sums each class’s scores over the four rotations', async () => {
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 2);
    const src = source(labels);
    const enc = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [3, 3, 1] }), tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })],
    });
    const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
    const acc = await jointLabelAccuracy(enc, head, src, rotate, 2, 3);
    // By hand: logits of the 4 rotated copies, class score Σ_r logit[4c + r].
    const b = src.batch(Int32Array.from(labels.keys()), new Rng(0));
    const rot = rotateFn(b.images, 10, 3, 3, 1).images;
    const logits = tf.tidy(() => (head.predict(enc.predict(tf.tensor4d(rot, [40, 3, 3, 1])) as tf.Tensor) as tf.Tensor).arraySync() as number[][]);
    let correct = 0;
    for (let i = 0; i < 10; i++) {
      const score = [0, 1].map((c) => [0, 1, 2, 3].reduce((s, r) => s + logits[4 * i + r]![4 * c + r]!, 0));
      if ((score[1]! > score[0]! ? 1 : 0) === labels[i]) correct++;
    }
    expect(acc).toBeCloseTo(correct / 10, 10);
    enc.dispose();
    head.dispose();
  });
});
