import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask, type DataSource, type ImageBatch } from '@ssl/core';
import { z } from 'zod';
import { aggregateJointPredictions, maskedCrossEntropy } from './auxiliary';

/**
 * Rotates a batch of NHWC images four ways: image i rotated r quarter turns at row `4i + r`,
 * with label r (e.g. `rotationBatch` of `@ssl/context`).
 */
export type RotateBatch = (images: Float32Array, n: number, height: number, width: number, channels: number) => { images: Float32Array; labels: Int32Array };

/**
 * Joint-label training (Lee et al. 2019, "self-supervised label augmentation"): every labelled
 * image is shown at its four rotations and the classifier predicts the `(class, rotation)` pair,
 * `4C` classes (see `jointLabel`); rows labelled -1 stay ignored. At test time use
 * {@link jointLabelAccuracy}, which sums each class's scores over the four rotations.
 *
 * @param rotate the four-way rotation (e.g. `rotationBatch` from `@ssl/context`)
 * @example
 * const task = jointLabelTask(rotationBatch);
 * const r = await train({ task, taskConfig: { numClasses: 10 }, encoder, source: labelled });
 * await jointLabelAccuracy(encoder, r.heads.classifier!, testSet, rotationBatch, 10);
 */
export function jointLabelTask(rotate: RotateBatch) {
  return definePretextTask({
    name: 'supervised-joint-rotation',
    family: 'supervised',
    modality: 'image',
    title: 'Supervised with joint (class, rotation) labels',
    paper: 'Lee, Hwang, Shin. Self-supervised Label Augmentation via Input Transformations. ICML 2020 (arXiv 2019)',
    description: 'Each labelled image appears at 0/90/180/270°; a linear classifier predicts one of 4C (class, rotation) labels with cross-entropy. Test predictions sum each class’s scores over the four rotations.',
    config: z.object({ numClasses: z.number().int().min(2).default(10).describe('number of classes C (the head has 4C outputs)') }).strict(),
    examplesPerInput: () => 4,
    createHeads: ({ featureDim, config, seed }) => ({
      classifier: tf.sequential({
        layers: [tf.layers.dense({ inputShape: [featureDim], units: 4 * config.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
      }),
    }),
    prepare: (raw) => {
      if (!raw.labels) throw new SslError('Joint-label training needs labels, but the data source has none. Use a labelled dataset.');
      const { images, labels: rot } = rotate(raw.images, raw.n, raw.height, raw.width, raw.channels);
      // c·4 + r; an unlabelled row (-1) stays -1 at every rotation.
      const y = Int32Array.from(rot, (r, i) => (raw.labels![Math.floor(i / 4)]! >= 0 ? raw.labels![Math.floor(i / 4)]! * 4 + r : -1));
      return { x: tf.tensor4d(images, [4 * raw.n, raw.height, raw.width, raw.channels]), y: tf.tensor1d(y, 'int32') };
    },
    loss: ({ encode, heads, batch }) => maskedCrossEntropy(heads.classifier.apply(encode(batch.x!)) as tf.Tensor2D, batch.y as tf.Tensor1D),
  });
}

/**
 * Test top-1 of a joint-label classifier with the aggregation of Lee et al.: each test image is
 * encoded at its four rotations and the class with the highest `Σ_r logit[c·4 + r]` wins.
 *
 * @example
 * const acc = await jointLabelAccuracy(encoder, head, testSet, rotationBatch, 10); // 0.78
 */
export async function jointLabelAccuracy(encoder: tf.LayersModel, head: tf.LayersModel, test: DataSource<ImageBatch>, rotate: RotateBatch, numClasses: number, batchSize = 128): Promise<number> {
  let correct = 0;
  const rng = new Rng(0);
  for (let start = 0; start < test.size; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, test.size - start) }, (_, i) => start + i);
    const b = test.batch(idx, rng);
    if (!b.labels) throw new SslError('Joint-label evaluation needs a labelled test set.');
    const { images } = rotate(b.images, b.n, b.height, b.width, b.channels);
    const logits = tf.tidy(() => head.apply(encoder.apply(tf.tensor4d(images, [4 * b.n, b.height, b.width, b.channels]), { training: false })) as tf.Tensor);
    const pred = aggregateJointPredictions((await logits.data()) as Float32Array, b.n, numClasses);
    logits.dispose();
    for (let i = 0; i < b.n; i++) if (pred[i] === b.labels[i]) correct++;
  }
  return correct / test.size;
}
