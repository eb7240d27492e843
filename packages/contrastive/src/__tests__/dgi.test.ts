import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, train } from '@ssl/core';
import { graphSource, parseCoraJson, type GraphBatch } from '@ssl/data';
import { createGcn } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { bilinearScores, corruptGraph, dgiBceLoss, dgiReadout, dgiTask } from '../index';

// Zachary's karate club, the tiny committed fixture of @ssl/data.
const karatePath = createRequire(import.meta.url).resolve('../../../data/src/__tests__/fixtures/karate.json');
const karate = parseCoraJson(JSON.parse(readFileSync(karatePath, 'utf8')));
const rawKarate = (): GraphBatch => graphSource(karate).batch(Int32Array.of(0, 1), new Rng(0));

beforeAll(async () => {
  await initBackend();
});

describe('Deep Graph Infomax', () => {
  it('corruption keeps the adjacency and permutes the feature rows only', () => {
    const raw = rawKarate();
    const f = raw.numFeatures;
    const { batch, permutation } = corruptGraph(raw, new Rng(5));
    expect(batch.edges).toBe(raw.edges);
    expect([batch.numNodes, batch.numFeatures]).toEqual([raw.numNodes, raw.numFeatures]);
    expect([...permutation].sort((a, b) => a - b)).toEqual(Array.from({ length: 34 }, (_, i) => i));
    expect([...permutation].filter((p, i) => p !== i).length).toBeGreaterThan(20); // really shuffled
    for (let i = 0; i < raw.numNodes; i++) {
      expect([...batch.features.subarray(i * f, (i + 1) * f)]).toEqual([...raw.features.subarray(permutation[i]! * f, (permutation[i]! + 1) * f)]);
    }
    expect(raw.features[0]).toBe(1); // the input is untouched
    expect([...corruptGraph(raw, new Rng(5)).permutation]).toEqual([...permutation]);
  });

  it('BCE over real (label 1) and corrupted (label 0) logits matches the hand value', () => {
    // −[log σ(2) + log σ(−1)] for the real pair, −[log(1−σ(0.5)) + log(1−σ(−3))] for the corrupted one
    const hand = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1)) + Math.log(1 + Math.exp(0.5)) + Math.log(1 + Math.exp(-3))) / 4;
    expect(hand).toBeCloseTo(0.615714, 5); // (0.126928 + 1.313262 + 0.974077 + 0.048587) / 4
    expect(dgiBceLoss(tf.tensor1d([2, -1]), tf.tensor1d([0.5, -3])).arraySync()).toBeCloseTo(hand, 5);
    // readout σ(mean) and the bilinear score hᵀWs + b
    const h = tf.tensor2d([
      [1, 2],
      [0, 1],
    ]);
    expect(dgiReadout(h).arraySync()[0]![0]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    // W s = [[1, 0], [2, 1]]·[0.5, 1] = [0.5, 2]; h·Ws = [4.5, 2]; + 0.1
    const scores = bilinearScores(
      h,
      tf.tensor2d([[0.5, 1]]),
      tf.tensor2d([
        [1, 0],
        [2, 1],
      ]),
      tf.scalar(0.1),
    ).arraySync();
    expect(scores[0]).toBeCloseTo(4.6, 5);
    expect(scores[1]).toBeCloseTo(2.1, 5);
  });

  it("the task's loss is BCE of the bilinear scores of real vs corrupted embeddings, and training lowers it on karate", async () => {
    const config = dgiTask.config.parse({});
    const encoder = createGcn({ numFeatures: 34, numNodes: 34, edges: karate.edges, widths: [16], seed: 0 });
    const heads = dgiTask.createHeads({ config, featureDim: 16, inputShape: [34], seed: 3 });
    const batch = tf.tidy(() => dgiTask.prepare(rawKarate(), { config, rng: new Rng(1), training: true }));
    const encode = (x: tf.Tensor) => encoder.apply(x) as tf.Tensor2D;
    const loss = dgiTask.loss({ config, encoder, heads, batch, state: undefined, training: true, encode }).arraySync();
    const w = tf.transpose(heads.discriminator!.getWeights()[0]!) as tf.Tensor2D; // dense kernel = Wᵀ
    const h = encode(batch.x);
    const s = dgiReadout(h);
    const b = heads.bias!.getWeights()[0]!;
    const manual = dgiBceLoss(bilinearScores(h, s, w, b), bilinearScores(encode(batch.xCorrupt), s, w, b)).arraySync();
    expect(loss).toBeCloseTo(manual, 5);
    const r = await train({ task: dgiTask, encoder, source: graphSource(karate), config: { epochs: 100, batchSize: 64, lr: 1e-2, seed: 0 } });
    expect(r.steps).toBe(100); // full batch: one step per epoch
    const mean = (xs: { loss: number }[]) => xs.reduce((a, x) => a + x.loss, 0) / xs.length;
    expect(mean(r.history.slice(-10))).toBeLessThan(mean(r.history.slice(0, 10)) - 0.2);
  });
});
