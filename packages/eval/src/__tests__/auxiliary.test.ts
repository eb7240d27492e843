import * as tf from '@tensorflow/tfjs';
import { Rng, definePretextTask, initBackend, train, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { aggregateJointPredictions, jointLabel, maskLabels, maskedCrossEntropy, withAuxiliary } from '../auxiliary';
import { supervisedTask } from '../finetune';
import { labelFractionSplit } from '../splits';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

// A toy auxiliary task: predict each image's mean brightness from the encoder's features (L2).
const brightness = definePretextTask({
  name: 'brightness',
  family: 'context',
  modality: 'image',
  title: 'Brightness regression',
  paper: '-',
  description: 'Regress the mean pixel value.',
  config: z.object({}).strict(),
  createHeads: ({ featureDim, seed }) => ({
    regressor: tf.sequential({ layers: [tf.layers.dense({ inputShape: [featureDim], units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed }) })] }),
  }),
  prepare: (raw) => {
    const x = tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]);
    return { x, t: x.mean([1, 2, 3]).reshape([raw.n, 1]) };
  },
  loss: ({ encode, heads, batch }) => tf.losses.meanSquaredError(batch.t, heads.regressor!.apply(encode(batch.x)) as tf.Tensor) as tf.Scalar,
});

function toySource(n: number, seed: number): DataSource<ImageBatch> & { labels: Int32Array } {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: n * 16 }, () => rng.float());
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    modality: 'image',
    size: n,
    labels,
    batch: (idx) => {
      const out = new Float32Array(idx.length * 16);
      idx.forEach((j, k) => out.set(images.subarray(j * 16, (j + 1) * 16), k * 16));
      return { modality: 'image', images: out, n: idx.length, height: 4, width: 4, channels: 1, labels: Int32Array.from(idx, (j) => labels[j]!), indices: idx };
    },
  };
}

function encoder(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [4, 4, 1] }),
      tf.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }),
    ],
  });
}

describe('joint (class, rotation) labels', () => {
  it('maps the 4C pairs one to one onto 0..4C-1 and rejects bad rotations', () => {
    const seen = new Set<number>();
    for (let c = 0; c < 3; c++) for (let r = 0; r < 4; r++) seen.add(jointLabel(c, r, 4));
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(jointLabel(2, 3, 4)).toBe(11);
    expect(() => jointLabel(1, 4, 4)).toThrow('Invalid transformation 4');
  });

  it('aggregates the four rotations by summing each class’s score at its own rotation', () => {
    // One image, C = 2, so 8 joint columns per row; row r is the copy rotated r quarter turns.
    const logits = new Float32Array(4 * 8);
    // Class 0's entries (columns 0..3) at their own rotation: 1 + 1 + 1 + 1 = 4.
    for (let r = 0; r < 4; r++) logits[r * 8 + r] = 1;
    // Class 1 scores high once (5) but at the wrong rotation elsewhere: 5 + 0 + 0 + 0 = 5 at its own slots...
    logits[0 * 8 + 4 + 0] = 5;
    // ...and large scores at the wrong rotation must not count.
    logits[1 * 8 + 4 + 3] = 100;
    expect(Array.from(aggregateJointPredictions(logits, 1, 2, 4))).toEqual([1]);
    logits[0 * 8 + 4 + 0] = 3; // now class 1 sums to 3 < 4
    expect(Array.from(aggregateJointPredictions(logits, 1, 2, 4))).toEqual([0]);
    expect(() => aggregateJointPredictions(logits, 2, 2, 4)).toThrow('expected 4 transformations');
  });
});

describe('S4L label masking', () => {
  it('keeps the labelled rows of a balanced, seeded split and marks the rest -1', () => {
    const labels = Int32Array.from({ length: 300 }, (_, i) => i % 3);
    const keep = labelFractionSplit(labels, 0.1, 5);
    expect(Array.from(labelFractionSplit(labels, 0.1, 5))).toEqual(Array.from(keep));
    const masked = maskLabels(labels, keep);
    const counts = [0, 0, 0];
    masked.forEach((l, i) => {
      if (l >= 0) {
        expect(l).toBe(labels[i]);
        counts[l]!++;
      }
    });
    expect(counts).toEqual([10, 10, 10]);
    expect(masked.filter((l) => l === -1).length).toBe(270);
  });

  it('masked cross-entropy matches the hand value and ignores unlabelled rows', () => {
    const logits = tf.tensor2d([
      [2, 0],
      [0, 2],
    ]);
    const v = maskedCrossEntropy(logits, tf.tensor1d([0, -1], 'int32')).dataSync()[0]!;
    expect(v).toBeCloseTo(Math.log(1 + Math.exp(-2)), 5);
    const both = maskedCrossEntropy(logits, tf.tensor1d([0, 0], 'int32')).dataSync()[0]!;
    expect(both).toBeCloseTo((Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(2))) / 2, 5);
    expect(maskedCrossEntropy(logits, tf.tensor1d([-1, -1], 'int32')).dataSync()[0]).toBe(0);
  });
});

describe('withAuxiliary', () => {
  it('its loss equals the main loss plus λ times the auxiliary loss on fixed inputs', () => {
    const task = withAuxiliary(supervisedTask, brightness, { weight: 0.3 });
    const enc = encoder();
    const config = task.config.parse({ main: { numClasses: 3 } });
    const heads = task.createHeads({ config, featureDim: 5, inputShape: [4, 4, 1], seed: 1 });
    expect(Object.keys(heads).sort()).toEqual(['aux_regressor', 'main_classifier']);
    const raw = toySource(6, 2).batch(Int32Array.from([0, 1, 2, 3, 4, 5]), new Rng(0));
    const encode = (x: tf.Tensor) => enc.apply(x) as tf.Tensor2D;
    const rng = new Rng(3);
    const [combined, separate] = tf.tidy(() => {
      const batch = task.prepare(raw, { config, rng, training: true });
      const total = task.loss({ config, encoder: enc, heads, batch, state: undefined as never, training: true, encode }).dataSync()[0]!;
      const xs = tf.tensor4d(raw.images, [6, 4, 4, 1]);
      const logits = heads.main_classifier!.apply(encode(xs)) as tf.Tensor2D;
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(raw.labels!, 'int32'), 3), logits).dataSync()[0]!;
      const pred = heads.aux_regressor!.apply(encode(xs)) as tf.Tensor;
      const mse = tf.losses.meanSquaredError(xs.mean([1, 2, 3]).reshape([6, 1]), pred).dataSync()[0]!;
      return [total, ce + 0.3 * mse];
    });
    expect(combined).toBeCloseTo(separate, 5);
    expect(() => withAuxiliary(supervisedTask, { ...brightness, modality: 'text' } as never)).toThrow('must read the same modality');
  });

  it('trains both heads and the encoder with the shared trainer', async () => {
    const task = withAuxiliary(supervisedTask, brightness);
    const enc = encoder();
    const before = enc.getWeights()[0]!.dataSync().slice();
    const r = await train({
      task,
      taskConfig: { main: { numClasses: 3 }, weight: 2 },
      encoder: enc,
      source: toySource(32, 4),
      config: { epochs: 3, batchSize: 8, lr: 0.05, seed: 0 },
    });
    expect(Object.keys(r.heads).sort()).toEqual(['aux_regressor', 'main_classifier']);
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    const after = enc.getWeights()[0]!.dataSync();
    expect(after.some((v, i) => Math.abs(v - before[i]!) > 1e-4)).toBe(true);
    tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
  });
});
