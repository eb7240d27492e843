import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng, SslError, parseWith, type DataSource, type ImageBatch } from '@ssl/core';

/**
 * Frozen features of a dataset: `n` rows of `dim` floats (row-major), with labels when the data has them.
 *
 * @example
 * const set: FeatureSet = { features: Float32Array.of(0, 1, 1, 0), n: 2, dim: 2, labels: Int32Array.of(0, 1) };
 */
export interface FeatureSet {
  features: Float32Array;
  n: number;
  dim: number;
  labels: Int32Array | undefined;
}

/**
 * Options of {@link extractFeatures}.
 *
 * @example
 * const opts: ExtractFeaturesOptions = { batchSize: 512, limit: 10_000 };
 */
export interface ExtractFeaturesOptions {
  /** Rows per forward pass (memory vs. speed); default 256. */
  batchSize?: number;
  /** Only the first `limit` rows of the source; default all. */
  limit?: number;
}

const extractOptions = z
  .object({
    batchSize: z.number().int().min(1).default(256),
    limit: z.number().int().min(0).optional(),
  })
  .strict();

/**
 * Runs a frozen encoder (inference mode) over a data source and returns its features in dataset order.
 *
 * @example
 * const train = await extractFeatures(encoder, mnistTrain, { batchSize: 256, limit: 10_000 });
 * train.features.length === train.n * train.dim; // true
 */
export async function extractFeatures(encoder: tf.LayersModel, source: DataSource<ImageBatch>, options: ExtractFeaturesOptions = {}): Promise<FeatureSet> {
  const { batchSize, limit } = parseWith(extractOptions, options, 'extractFeatures options');
  const n = Math.min(source.size, limit ?? source.size);
  let dim = encoder.outputs[0]?.shape.at(-1) ?? 0;
  let features = new Float32Array(n * (dim ?? 0));
  let labels: Int32Array | undefined;
  // The source's batch() must not depend on rng for evaluation; a fixed one keeps any that do reproducible.
  const rng = new Rng(0);
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const idx = new Int32Array(m);
    for (let i = 0; i < m; i++) idx[i] = start + i;
    const b = source.batch(idx, rng);
    if (b.n !== m || b.images.length !== m * b.height * b.width * b.channels) {
      throw new SslError(`Data source returned ${b.n} images (${b.images.length} floats) for ${m} indices; batch(indices) must return one ${b.height}×${b.width}×${b.channels} image per index.`);
    }
    if (start === 0) {
      if (b.labels) labels = new Int32Array(n);
    } else if (!b.labels !== !labels) {
      throw new SslError('Data source returned labels for some batches but not others; every batch must carry labels, or none.');
    }
    if (labels && b.labels) labels.set(b.labels.subarray(0, m), start);
    // `training: false` keeps dropout off and batch-norm on its moving statistics: frozen-encoder inference.
    const out = tf.tidy(() => encoder.apply(tf.tensor4d(b.images, [m, b.height, b.width, b.channels]), { training: false }) as tf.Tensor);
    try {
      if (out.rank !== 2 || out.shape[0] !== m) {
        throw new SslError(`Encoder output has shape [${out.shape.join(', ')}]; feature extraction needs [batch, features]. Add a flatten or pooling layer at the end of the encoder.`);
      }
      const d = out.shape[1]!;
      if (start === 0 && d !== dim) {
        // The symbolic output shape can be unknown (null); the first real batch settles it.
        dim = d;
        features = new Float32Array(n * d);
      }
      features.set(await out.data<'float32'>(), start * dim);
    } finally {
      out.dispose();
    }
  }
  return { features, n, dim: dim ?? 0, labels };
}
