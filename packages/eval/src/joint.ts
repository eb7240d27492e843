import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask, type DataSource, type ImageBatch, type ImageTransformSet } from '@ssl/core';
import { z } from 'zod';
import { aggregateJointPredictions, maskedCrossEntropy } from './auxiliary';

/**
 * Joint-label training (Lee et al. 2019, "self-supervised label augmentation"): every labelled
 * image is shown under each transformation of a set (e.g. the four rotations) and the classifier
 * predicts the `(class, transformation)` pair, `K·C` classes (see `jointLabel`); rows labelled -1 stay ignored. At test time use
 * {@link jointLabelAccuracy}, which sums each class's scores over the transformations.
 *
 * @param transforms the transformation set (e.g. `rotationTask.transformations` from `@ssl/context`)
 * @example
 * const task = jointLabelTask(rotationTask.transformations!, 'rotation');
 * const r = await train({ task, taskConfig: { numClasses: 10 }, encoder, source: labelled });
 * await jointLabelAccuracy(encoder, r.heads.classifier!, testSet, rotationTask.transformations!, 10);
 */
export function jointLabelTask(transforms: ImageTransformSet, name = 'transformation') {
  const K = transforms.count;
  return definePretextTask({
    name: `supervised-joint-${name}`,
    family: 'supervised',
    modality: 'image',
    title: `Supervised with joint (class, ${name}) labels`,
    paper: 'Lee, Hwang, Shin. Self-supervised Label Augmentation via Input Transformations. ICML 2020 (arXiv 2019)',
    description: `Each labelled image appears under each of the ${K} transformations; a linear classifier predicts one of ${K}C (class, transformation) labels with cross-entropy. Test predictions sum each class’s scores over the transformations.`,
    config: z.object({ numClasses: z.number().int().min(2).default(10).describe(`number of classes C (the head has ${K}C outputs)`) }).strict(),
    examplesPerInput: () => K,
    createHeads: ({ featureDim, config, seed }) => ({
      classifier: tf.sequential({
        layers: [tf.layers.dense({ inputShape: [featureDim], units: K * config.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
      }),
    }),
    prepare: (raw) => {
      if (!raw.labels) throw new SslError('Joint-label training needs labels, but the data source has none. Use a labelled dataset.');
      const { images, labels: t } = transforms.apply(raw.images, raw.n, raw.height, raw.width, raw.channels);
      // c·K + t; an unlabelled row (-1) stays -1 under every transformation.
      const y = Int32Array.from(t, (r, i) => (raw.labels![Math.floor(i / K)]! >= 0 ? raw.labels![Math.floor(i / K)]! * K + r : -1));
      return { x: tf.tensor4d(images, [K * raw.n, raw.height, raw.width, raw.channels]), y: tf.tensor1d(y, 'int32') };
    },
    loss: ({ encode, heads, batch }) => maskedCrossEntropy(heads.classifier.apply(encode(batch.x)) as tf.Tensor2D, batch.y),
  });
}

/**
 * Test top-1 of a joint-label classifier with the aggregation of Lee et al.: each test image is
 * encoded under its K transformations and the class with the highest `Σ_t logit[c·K + t]` wins.
 *
 * @example
 * const acc = await jointLabelAccuracy(encoder, head, testSet, rotationTask.transformations!, 10); // 0.78
 */
export async function jointLabelAccuracy(
  encoder: tf.LayersModel,
  head: tf.LayersModel,
  test: DataSource<ImageBatch>,
  transforms: ImageTransformSet,
  numClasses: number,
  batchSize = 128,
): Promise<number> {
  const K = transforms.count;
  let correct = 0;
  const rng = new Rng(0);
  for (let start = 0; start < test.size; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, test.size - start) }, (_, i) => start + i);
    const b = test.batch(idx, rng);
    if (!b.labels) throw new SslError('Joint-label evaluation needs a labelled test set.');
    const { images } = transforms.apply(b.images, b.n, b.height, b.width, b.channels);
    const logits = tf.tidy(() => head.apply(encoder.apply(tf.tensor4d(images, [K * b.n, b.height, b.width, b.channels]), { training: false })) as tf.Tensor);
    const pred = aggregateJointPredictions((await logits.data()) as Float32Array, b.n, numClasses, K);
    logits.dispose();
    for (let i = 0; i < b.n; i++) if (pred[i] === b.labels[i]) correct++;
  }
  return correct / test.size;
}
