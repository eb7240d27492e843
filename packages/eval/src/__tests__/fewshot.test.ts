import * as tf from '@tensorflow/tfjs';
import { Rng, definePretextTask, initBackend, train, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withAuxiliary } from '../auxiliary';
import {
  episodicSource,
  evaluateFewShot,
  meanWithInterval,
  prototypicalLogits,
  prototypicalLoss,
  prototypicalTask,
  rowsByClass,
  sampleEpisode,
} from '../fewshot';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** 10 classes × 30 tiny 4×4 images; image i has label i % 10 and its class id written into pixel 0. */
function toyData(n = 300): DataSource<ImageBatch> & { labels: Int32Array } {
  const rng = new Rng(1);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const images = Float32Array.from({ length: n * 16 }, (_, j) => (j % 16 === 0 ? labels[Math.floor(j / 16)]! / 10 : rng.float()));
  return {
    modality: 'image',
    size: n,
    labels,
    batch: (idx) => {
      const out = new Float32Array(idx.length * 16);
      idx.forEach((j, k) => out.set(images.subarray(j * 16, (j + 1) * 16), k * 16));
      return {
        modality: 'image',
        images: out,
        n: idx.length,
        height: 4,
        width: 4,
        channels: 1,
        labels: Int32Array.from(idx, (j) => labels[j]!),
        indices: Int32Array.from(idx),
      };
    },
  };
}

describe('episode sampling', () => {
  const labels = toyData().labels;

  it('is balanced: N distinct classes × (K support + Q query) distinct rows of the right class', () => {
    const byClass = rowsByClass(labels);
    for (let e = 0; e < 20; e++) {
      const ep = sampleEpisode(byClass, { nWay: 5, kShot: 3, nQuery: 4 }, new Rng(e));
      expect(new Set(ep.classes).size).toBe(5);
      expect(ep.support.length).toBe(15);
      expect(ep.query.length).toBe(20);
      expect(new Set([...ep.support, ...ep.query]).size).toBe(35);
      ep.support.forEach((r, i) => expect(labels[r]).toBe(ep.classes[Math.floor(i / 3)]));
      ep.query.forEach((r, i) => expect(labels[r]).toBe(ep.classes[Math.floor(i / 4)]));
    }
  });

  it('is seeded: the same rng gives the same episode, another seed another one', () => {
    const byClass = rowsByClass(labels);
    const shape = { nWay: 5, kShot: 1, nQuery: 2 };
    const a = sampleEpisode(byClass, shape, new Rng(7));
    expect(sampleEpisode(byClass, shape, new Rng(7))).toEqual(a);
    expect(sampleEpisode(byClass, shape, new Rng(8))).not.toEqual(a);
  });

  it('names the problem when a class or the class count is too small', () => {
    expect(() => sampleEpisode(rowsByClass(labels, [0, 1, 2]), { nWay: 5, kShot: 1, nQuery: 1 }, new Rng(0))).toThrow(
      /5-way episode needs at least 5 classes, but only 3/,
    );
    expect(() => sampleEpisode(rowsByClass(labels, [0, 1]), { nWay: 2, kShot: 20, nQuery: 15 }, new Rng(0))).toThrow(
      /Class \d has 30 rows; a 20-shot episode with 15 queries needs 35/,
    );
    expect(() => rowsByClass(labels, [3, 12])).toThrow(/Class \[12\] has no rows/);
  });

  it('training episodes only ever hold the training classes, and one episode fills one batch', () => {
    const data = toyData();
    const src = episodicSource(data, { classes: [0, 1, 2, 3, 4], nWay: 5, kShot: 2, nQuery: 3, episodes: 40 });
    expect(src.episodeSize).toBe(25);
    expect(src.size).toBe(40 * 25);
    const seen = new Set<number>();
    for (let s = 0; s < 40; s++) {
      const b = src.batch(new Int32Array(25), Rng.derive(0, 'step', s));
      b.labels!.forEach((l) => seen.add(l));
      // Class-major: support rows 0..9 are 2 per class, query rows 10..24 are 3 per class.
      const sup = Array.from(b.labels!.subarray(0, 10));
      const qry = Array.from(b.labels!.subarray(10));
      for (let j = 0; j < 5; j++) {
        expect(sup.slice(2 * j, 2 * j + 2).every((l) => l === sup[2 * j])).toBe(true);
        expect(qry.slice(3 * j, 3 * j + 3).every((l) => l === sup[2 * j])).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(() => src.batch(new Int32Array(8), new Rng(0))).toThrow(/got a batch of 8. Set the trainer's batchSize to 25/);
  });
});

describe('prototypical loss', () => {
  it('matches the hand-computed value on a 2-way 1-shot episode', () => {
    // Prototypes (0,0) and (2,0). Query (0,0): logits (0, −4), label 0. Query (2,1): logits (−5, −1), label 1.
    const v = prototypicalLoss(
      tf.tensor2d([
        [0, 0],
        [2, 0],
      ]),
      tf.tensor2d([
        [0, 0],
        [2, 1],
      ]),
      { nWay: 2, kShot: 1, nQuery: 1 },
    ).dataSync()[0]!;
    const hand = (Math.log(1 + Math.exp(-4)) + Math.log(1 + Math.exp(-4))) / 2;
    expect(v).toBeCloseTo(hand, 5);
    expect(
      Array.from(
        prototypicalLogits(
          tf.tensor2d([
            [0, 0],
            [2, 0],
          ]),
          tf.tensor2d([[1, 1]]),
          2,
          1,
        ).dataSync(),
      ),
    ).toEqual([-2, -2]);
  });

  it('averages K support rows into each prototype (2-way 2-shot, 2 queries each, independent loop)', () => {
    const support = [
      [1, 0],
      [3, 0],
      [0, 2],
      [0, 4],
    ]; // prototypes (2,0) and (0,3)
    const query = [
      [2, 1],
      [1, 0],
      [0, 3],
      [1, 1],
    ];
    const protos = [
      [2, 0],
      [0, 3],
    ];
    let hand = 0;
    query.forEach((q, i) => {
      const logits = protos.map((p) => -((q[0]! - p[0]!) ** 2 + (q[1]! - p[1]!) ** 2));
      const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
      hand += -(logits[Math.floor(i / 2)]! - lse) / query.length;
    });
    const v = prototypicalLoss(tf.tensor2d(support), tf.tensor2d(query), { nWay: 2, kShot: 2, nQuery: 2 }).dataSync()[0]!;
    expect(v).toBeCloseTo(hand, 5);
    expect(() => prototypicalLoss(tf.tensor2d(support), tf.tensor2d(query), { nWay: 2, kShot: 2, nQuery: 3 })).toThrow(/query set has 4 rows/);
  });
});

describe('episodic training and few-shot evaluation', () => {
  // Toy auxiliary (any registered pretext task plugs in the same way): regress the mean pixel.
  const brightness = definePretextTask({
    name: 'brightness',
    family: 'context',
    modality: 'image',
    title: 'Brightness',
    paper: '-',
    description: '-',
    config: z.object({}).strict(),
    createHeads: ({ featureDim, seed }) => ({
      r: tf.sequential({ layers: [tf.layers.dense({ inputShape: [featureDim], units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed }) })] }),
    }),
    prepare: (raw) => {
      const x = tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]);
      return { x, t: x.mean([1, 2, 3]).reshape([raw.n, 1]) };
    },
    loss: ({ encode, heads, batch }) => tf.losses.meanSquaredError(batch.t, heads.r!.apply(encode(batch.x)) as tf.Tensor) as tf.Scalar,
  });
  const encoder = () =>
    tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })],
    });

  it('trains the encoder on episodes, alone and with an auxiliary task', async () => {
    const src = episodicSource(toyData(), { classes: [0, 1, 2, 3, 4], nWay: 3, kShot: 2, nQuery: 2, episodes: 6 });
    for (const task of [prototypicalTask, withAuxiliary(prototypicalTask, brightness, { weight: 0.5 })]) {
      const enc = encoder();
      const before = enc.getWeights()[0]!.dataSync().slice();
      const cfg = task === prototypicalTask ? { nWay: 3, kShot: 2, nQuery: 2 } : { main: { nWay: 3, kShot: 2, nQuery: 2 } };
      const r = await train({
        task,
        taskConfig: cfg as never,
        encoder: enc,
        source: src,
        config: { epochs: 1, batchSize: src.episodeSize, lr: 0.01, seed: 0 },
      });
      expect(r.steps).toBe(6);
      expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
      expect(
        enc
          .getWeights()[0]!
          .dataSync()
          .some((v, i) => Math.abs(v - before[i]!) > 1e-5),
      ).toBe(true);
      tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
      enc.dispose();
    }
  });

  it('nearest-prototype accuracy: 1 on separable features, chance-level on identical ones, seeded, held-out classes only', () => {
    const n = 200;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    // Feature = (label, 0): perfectly separable.
    const sep = { features: Float32Array.from({ length: 2 * n }, (_, j) => (j % 2 === 0 ? labels[j / 2]! : 0)), n, dim: 2, labels };
    const r = evaluateFewShot(sep, { nWay: 5, kShot: 1, nQuery: 3, episodes: 50, classes: [5, 6, 7, 8, 9], seed: 1 });
    expect(r.accuracy).toBe(1);
    expect(r.ci95).toBe(0);
    // Every feature equal: all distances tie, the first prototype always wins → exactly 1/N correct.
    const same = { features: new Float32Array(2 * n).fill(1), n, dim: 2, labels };
    expect(evaluateFewShot(same, { nWay: 5, kShot: 1, nQuery: 3, episodes: 50, classes: [5, 6, 7, 8, 9] }).accuracy).toBeCloseTo(0.2, 10);
    // Noisy features: deterministic per seed.
    const rng = new Rng(4);
    const noisy = {
      features: Float32Array.from({ length: 2 * n }, (_, j) => (j % 2 === 0 ? labels[Math.floor(j / 2)]! : 0) + rng.normal(0, 2)),
      n,
      dim: 2,
      labels,
    };
    const a = evaluateFewShot(noisy, { nWay: 5, kShot: 1, nQuery: 3, episodes: 30, seed: 2 });
    expect(evaluateFewShot(noisy, { nWay: 5, kShot: 1, nQuery: 3, episodes: 30, seed: 2 })).toEqual(a);
    expect(a.accuracy).toBeGreaterThan(0.2);
    expect(a.accuracy).toBeLessThan(1);
    expect(a.ci95).toBeGreaterThan(0);
  });

  it('mean with a 95 % interval matches the textbook formula', () => {
    const m = meanWithInterval([0.5, 0.7, 0.9]);
    expect(m.mean).toBeCloseTo(0.7, 12);
    expect(m.std).toBeCloseTo(0.2, 12);
    expect(m.ci95).toBeCloseTo((1.96 * 0.2) / Math.sqrt(3), 12);
  });
});
