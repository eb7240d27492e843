import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, type DataSource, type ImageBatch } from '@ssl/core';

/** Frozen features of a dataset: n rows of `dim` floats, with labels when the data has them. */
export interface FeatureSet {
  features: Float32Array;
  n: number;
  dim: number;
  labels: Int32Array | undefined;
}

/**
 * Runs a frozen encoder (inference mode) over a data source, in dataset order.
 *
 * @example
 * const train = await extractFeatures(encoder, loadMnist('train', { limit: 10000 }));
 */
export async function extractFeatures(
  encoder: tf.LayersModel,
  source: DataSource<ImageBatch>,
  options: { batchSize?: number; limit?: number } = {},
): Promise<FeatureSet> {
  const n = Math.min(source.size, options.limit ?? source.size);
  const batchSize = options.batchSize ?? 256;
  const dim = encoder.outputs[0]!.shape.at(-1) ?? 0;
  const features = new Float32Array(n * dim);
  let labels: Int32Array | undefined;
  const rng = new Rng(0);
  for (let start = 0; start < n; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const b = source.batch(idx, rng);
    if (b.labels) {
      labels ??= new Int32Array(n);
      labels.set(b.labels, start);
    }
    const out = tf.tidy(() => encoder.apply(tf.tensor4d(b.images, [b.n, b.height, b.width, b.channels]), { training: false }) as tf.Tensor);
    features.set(await out.data(), start * dim);
    out.dispose();
  }
  return { features, n, dim, labels };
}

/** Checks two feature sets can be compared and returns the number of classes. */
export function checkPair(train: FeatureSet, test: FeatureSet, numClasses?: number): number {
  if (train.dim !== test.dim) throw new SslError(`Train features have ${train.dim} dimensions but test features ${test.dim}; extract both with the same encoder.`);
  if (!train.labels || !test.labels) throw new SslError('Evaluation needs labels on both the train and the test features; use a labelled dataset.');
  if (train.n === 0 || test.n === 0) throw new SslError(`Evaluation needs non-empty splits, got ${train.n} train and ${test.n} test rows.`);
  let max = 0;
  for (const l of train.labels) max = Math.max(max, l);
  for (const l of test.labels) max = Math.max(max, l);
  return numClasses ?? max + 1;
}
