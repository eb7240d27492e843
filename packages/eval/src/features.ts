import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng, SslError, parseWith, type DataSource, type ImageBatch, type SequenceBatch, type TextBatch } from '@ssl/core';

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
  /** Called after each batch with the rows done and the total (e.g. to draw a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

const extractOptions = z
  .object({
    batchSize: z.number().int().min(1).default(256),
    limit: z.number().int().min(0).optional(),
    onProgress: z.function().optional(),
  })
  .strict();

/** A batch as the feature extractor sees it: one of the core modalities, or a graph with the nodes asked for. */
type AnyBatch =
  | ImageBatch
  | SequenceBatch
  | TextBatch
  | { modality: 'graph'; numNodes: number; numFeatures: number; features: Float32Array; nodes?: Int32Array; labels?: Int32Array; indices: Int32Array };

/** The encoder's input for a batch, and how its output rows map back to the batch's items. */
function encoderInput(b: AnyBatch, m: number, encoder: tf.LayersModel): { x: tf.Tensor; rows?: Int32Array; chunks?: TextBatch['chunks'] } {
  // The encoder's declared per-example shape, when fully known: batches are reshaped to it when
  // the sizes agree (a time series row of [steps, features], one step of [features]).
  const declared = encoder.inputs[0]?.shape.slice(1);
  const fits = (perItem: number) => declared && declared.every((d) => d !== null) && (declared as number[]).reduce((a, d) => a * d, 1) === perItem;
  switch (b.modality) {
    case 'image': {
      if (b.n !== m || b.images.length !== m * b.height * b.width * b.channels) {
        throw new SslError(
          `Data source returned ${b.n} images (${b.images.length} floats) for ${m} indices; batch(indices) must return one ${b.height}×${b.width}×${b.channels} image per index.`,
        );
      }
      return { x: tf.tensor(b.images, [m, b.height, b.width, b.channels]) };
    }
    case 'sequence': {
      const per = b.frames.length / Math.max(b.n, 1);
      return { x: tf.tensor(b.frames, fits(per) ? [b.n, ...(declared as number[])] : [b.n, b.length, ...b.frameShape]) };
    }
    case 'text':
      return { x: tf.tensor2d(b.tokens, [b.n, b.length], 'int32'), ...(b.chunks ? { chunks: b.chunks } : {}) };
    case 'graph':
      return { x: tf.tensor2d(b.features, [b.numNodes, b.numFeatures]), rows: b.nodes ?? b.indices };
  }
}

/** Rows of `out` → one feature row per item: picked (`rows`), weighted means (`chunks`), or as they are. */
function itemFeatures(values: Float32Array, dim: number, map: { rows?: Int32Array; chunks?: TextBatch['chunks'] }): Float32Array {
  if (map.rows) {
    const f = new Float32Array(map.rows.length * dim);
    map.rows.forEach((r, i) => f.set(values.subarray(r * dim, (r + 1) * dim), i * dim));
    return f;
  }
  if (map.chunks) {
    const { items, owner, weight } = map.chunks;
    const f = new Float32Array(items * dim);
    const total = new Float64Array(items);
    owner.forEach((item, r) => {
      total[item]! += weight[r]!;
      for (let k = 0; k < dim; k++) f[item * dim + k]! += weight[r]! * values[r * dim + k]!;
    });
    for (let item = 0; item < items; item++) for (let k = 0; k < dim; k++) f[item * dim + k]! /= total[item]!;
    return f;
  }
  return values;
}

/**
 * Runs a frozen encoder (inference mode) over a data source of any modality and returns its
 * features in dataset order: images and sequences row by row, text documents as the weighted mean
 * of their chunks, graph nodes from one full-graph pass. The one feature extractor behind every
 * protocol.
 *
 * @example
 * const train = await extractFeatures(encoder, mnistTrain, { batchSize: 256, limit: 10_000 });
 * train.features.length === train.n * train.dim; // true
 */
export async function extractFeatures(encoder: tf.LayersModel, source: DataSource<unknown>, options: ExtractFeaturesOptions = {}): Promise<FeatureSet> {
  const parsed = parseWith(extractOptions, options, 'extractFeatures options');
  const n = Math.min(source.size, parsed.limit ?? source.size);
  // A graph encoder sees the whole graph at once: one pass serves every node.
  const batchSize = source.modality === 'graph' ? Math.max(n, 1) : parsed.batchSize;
  let dim = encoder.outputs[0]?.shape.at(-1) ?? 0;
  let features = new Float32Array(n * (dim ?? 0));
  let labels: Int32Array | undefined;
  // The source's batch() must not depend on rng for evaluation; a fixed one keeps any that do reproducible.
  const rng = new Rng(0);
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const idx = new Int32Array(m);
    for (let i = 0; i < m; i++) idx[i] = start + i;
    const b = source.batch(idx, rng) as AnyBatch;
    if (start === 0) {
      if (b.labels) labels = new Int32Array(n);
    } else if (!b.labels !== !labels) {
      throw new SslError('Data source returned labels for some batches but not others; every batch must carry labels, or none.');
    }
    if (labels && b.labels) labels.set(b.labels.subarray(0, m), start);
    const input = encoderInput(b, m, encoder);
    // `training: false` keeps dropout off and batch-norm on its moving statistics: frozen-encoder inference.
    const out = tf.tidy(() => {
      try {
        return encoder.apply(input.x, { training: false }) as tf.Tensor;
      } finally {
        input.x.dispose();
      }
    });
    try {
      if (out.rank !== 2) {
        throw new SslError(
          `Encoder output has shape [${out.shape.join(', ')}]; feature extraction needs [batch, features]. Add a flatten or pooling layer at the end of the encoder.`,
        );
      }
      const d = out.shape[1]!;
      if (start === 0 && d !== dim) {
        // The symbolic output shape can be unknown (null); the first real batch settles it.
        dim = d;
        features = new Float32Array(n * d);
      }
      const rows = itemFeatures(await out.data<'float32'>(), d, input);
      if (rows.length !== m * d)
        throw new SslError(`Encoder gave ${rows.length / d} feature rows for ${m} items; batch(indices) must return one item per index.`);
      features.set(rows, start * dim);
    } finally {
      out.dispose();
    }
    options.onProgress?.(start + m, n);
  }
  return { features, n, dim: dim ?? 0, labels };
}

/**
 * The labels of a labelled source, in order (read from `source.labels` when it has them, else batch by batch).
 *
 * @example
 * const labels = labelsOf(mnistTrain); // Int32Array
 */
export function labelsOf(source: DataSource<unknown> & { labels?: Int32Array }): Int32Array | undefined {
  if (source.labels) return source.labels;
  const out = new Int32Array(source.size);
  const rng = new Rng(0);
  for (let s = 0; s < source.size; s += 256) {
    const idx = Int32Array.from({ length: Math.min(256, source.size - s) }, (_, i) => s + i);
    const b = source.batch(idx, rng) as { labels?: Int32Array };
    if (!b.labels) return undefined;
    out.set(b.labels.subarray(0, idx.length), s);
  }
  return out;
}
