/**
 * The other three things a plugin can add, each in a few lines: a dataset (`stripes`, generated),
 * an evaluation protocol (`nearest-mean`) and an encoder (`tiny-dense`). The CLI picks them up
 * with the task through the same `--plugin`:
 *
 *     ssl --plugin ./examples/plugin-flip/dist/index.js pretrain --method flip-prediction --dataset stripes --encoder tiny-dense
 *     ssl --plugin ./examples/plugin-flip/dist/index.js eval --run runs/flip-prediction-stripes-seed0 --protocol nearest-mean
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, type DataSource, type ImageBatch } from '@ssl/core';
import { defineDataset } from '@ssl/data';
import { defineEncoder } from '@ssl/encoders';
import { defineProtocol, type FeatureSet } from '@ssl/eval';
import { z } from 'zod';

const SIZE = 12;

/**
 * `size` labelled 12×12 images: class 0 horizontal stripes, class 1 vertical, plus uniform noise;
 * image i of a split is a pure function of (split seed, i).
 *
 * @example
 * stripes(100, 1).batch(Int32Array.of(0, 1), new Rng(0)).labels; // Int32Array [0, 1]
 */
export function stripes(size: number, seed: number): DataSource<ImageBatch> & { labels: Int32Array } {
  const labels = Int32Array.from({ length: size }, (_, i) => i % 2);
  return {
    modality: 'image',
    size,
    labels,
    batch(indices) {
      const images = new Float32Array(indices.length * SIZE * SIZE);
      indices.forEach((i, k) => {
        const rng = new Rng(seed * 1_000_003 + i);
        for (let y = 0; y < SIZE; y++) {
          for (let x = 0; x < SIZE; x++) {
            const line = labels[i] === 0 ? y : x;
            images[k * SIZE * SIZE + y * SIZE + x] = (line % 4 < 2 ? 0.8 : 0.2) + 0.4 * (rng.float() - 0.5);
          }
        }
      });
      return {
        modality: 'image',
        images,
        n: indices.length,
        height: SIZE,
        width: SIZE,
        channels: 1,
        labels: Int32Array.from(indices, (i) => labels[i]!),
        indices: Int32Array.from(indices),
      };
    },
  };
}

/** `--dataset stripes`: generated stripe images, labelled by orientation. */
export const stripesDataset = defineDataset({
  name: 'stripes',
  summary: 'images: generated 12×12 stripes, horizontal or vertical (plugin example)',
  modality: 'image',
  defaultEncoder: 'tiny-dense',
  train: (_arg, { seed, limit }) => stripes(limit, seed),
  sampleShape: () => [SIZE, SIZE, 1],
  probeSplits: (_arg, { seed, trainLimit, testLimit }) => ({
    train: stripes(Math.min(trainLimit, 200), seed + 1),
    test: stripes(Math.min(testLimit, 100), seed + 2),
  }),
});

/**
 * Nearest class mean: each test row gets the class whose mean train feature is closest
 * (squared Euclidean distance); returns test top-1.
 *
 * @example
 * nearestMeanAccuracy(train, test); // 0.95
 */
export function nearestMeanAccuracy(train: FeatureSet, test: FeatureSet): number {
  if (!train.labels || !test.labels) throw new SslError('nearest-mean needs labelled features.');
  const classes = Math.max(...train.labels) + 1;
  const { dim } = train;
  const means = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  train.labels.forEach((c, i) => {
    counts[c]!++;
    for (let d = 0; d < dim; d++) means[c * dim + d]! += train.features[i * dim + d]!;
  });
  for (let c = 0; c < classes; c++) for (let d = 0; d < dim; d++) means[c * dim + d]! /= Math.max(counts[c]!, 1);
  let correct = 0;
  for (let i = 0; i < test.n; i++) {
    let best = 0;
    let bestDist = Infinity;
    for (let c = 0; c < classes; c++) {
      let dist = 0;
      for (let d = 0; d < dim; d++) dist += (test.features[i * dim + d]! - means[c * dim + d]!) ** 2;
      if (dist < bestDist) [best, bestDist] = [c, dist];
    }
    if (best === test.labels[i]) correct++;
  }
  return correct / test.n;
}

/** `--protocol nearest-mean`: nearest class mean on frozen features. */
export const nearestMeanProtocol = defineProtocol({
  name: 'nearest-mean',
  summary: 'nearest class mean on frozen features, test top-1 (plugin example)',
  run: async (ctx) => {
    const { train, test } = await ctx.features();
    return { metric: 'nearest class mean top-1', value: nearestMeanAccuracy(train, test) };
  },
});

/** `--encoder tiny-dense`: flatten, one ReLU layer of `units`. */
export const tinyDenseEncoder = defineEncoder({
  name: 'tiny-dense',
  description: 'Flatten + one dense ReLU layer (plugin example).',
  config: z.object({ units: z.number().int().min(1).max(1024).default(16).describe('feature size') }).strict(),
  create: (c, inputShape, seed) =>
    tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape }),
        tf.layers.dense({ units: c.units, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      ],
    }),
});
