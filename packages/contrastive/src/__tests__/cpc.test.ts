import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type ImageBatch, type SequenceBatch } from '@ssl/core';
import { createConvNet, createMlp } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cpcConfig,
  cpcContext,
  cpcInfoNCE,
  cpcPatchGeometry,
  cpcPatches,
  cpcSequenceConfig,
  cpcSequenceTask,
  cpcSequenceUnits,
  cpcTask,
  sequenceInfoNCE,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('CPC on patch grids', () => {
  it('the context at row t does not change when rows after t change (causal)', () => {
    const config = cpcConfig.parse({ contextDim: 6 });
    const heads = cpcTask.createHeads({ config, featureDim: 5, inputShape: [16, 16, 1], seed: 0 });
    const g = config.grid;
    const rng = new Rng(3);
    const codes = Array.from({ length: 2 * g * g * 5 }, () => rng.normal());
    const a = cpcContext(heads.context!, tf.tensor2d(codes, [2 * g * g, 5]), g).arraySync();
    // Change every code of rows ≥ 2 (index = image·g·g + row·g + col).
    const changed = codes.map((v, i) => (Math.floor(i / 5 / g) % g >= 2 ? v + 10 : v));
    const b = cpcContext(heads.context!, tf.tensor2d(changed, [2 * g * g, 5]), g).arraySync();
    for (let s = 0; s < 2 * g; s++) {
      for (let t = 0; t < g; t++) {
        if (t < 2)
          expect(b[s]![t]).toEqual(a[s]![t]); // rows 0, 1: unchanged
        else expect(b[s]![t]).not.toEqual(a[s]![t]); // rows 2, 3 see the change
      }
    }
  });

  it('cuts a grid of overlapping patches in (image, row, column) order', () => {
    expect(cpcPatchGeometry(28, { grid: 4, overlap: 0.5 })).toEqual({ patch: 11, stride: 5 });
    // Pixel value = its row / 15, so each patch's mean tells which grid row it came from.
    const size = 16;
    const images = Float32Array.from({ length: 2 * size * size }, (_, i) => Math.floor((i % (size * size)) / size) / 15);
    const raw: ImageBatch = { modality: 'image', images, n: 2, height: size, width: size, channels: 1, indices: new Int32Array(2) };
    const config = cpcConfig.parse({});
    const { patch, stride } = cpcPatchGeometry(size, config);
    const p = cpcPatches(raw, config);
    expect(p.shape).toEqual([32, 16, 16, 1]);
    const means = tf.mean(p, [1, 2, 3]).arraySync() as number[];
    for (let k = 0; k < 32; k++) {
      const row = Math.floor((k % 16) / 4);
      expect(means[k]).toBeCloseTo((row * stride + (patch - 1) / 2) / 15, 4);
    }
  });

  it('InfoNCE scores each prediction against every code of the batch (hand-checked on a 2×2 grid)', () => {
    // 1 image, grid 2, k = 1: sequences are columns 0 and 1; context row 0 predicts the code at row 1.
    const codes = tf.tensor2d([
      [1, 0],
      [0, 1],
      [2, 0],
      [0, 3],
    ]); // (r0c0, r0c1, r1c0, r1c1)
    const contexts = tf.tensor3d([
      [
        [1, 0],
        [9, 9],
      ],
      [
        [0, 1],
        [9, 9],
      ],
    ]);
    const identity = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, useBias: false, weights: [tf.eye(2)] })] });
    const got = cpcInfoNCE(codes, contexts, [identity], 2).arraySync();
    // column 0: pred [1,0], scores [1, 0, 2, 0], target 2; column 1: pred [0,1], scores [0, 1, 0, 3], target 3
    const ce = (s: number[], t: number) => Math.log(s.reduce((a, x) => a + Math.exp(x), 0)) - s[t]!;
    expect(got).toBeCloseTo((ce([1, 0, 2, 0], 2) + ce([0, 1, 0, 3], 3)) / 2, 5);
  });

  it('trains end to end: gradients reach the encoder, the GRU and every predictor', () => {
    const config = cpcConfig.parse({ contextDim: 8 });
    const encoder = createConvNet({ inputShape: [12, 12, 1], widths: [4, 8], seed: 0 });
    const heads = cpcTask.createHeads({ config, featureDim: 8, inputShape: [12, 12, 1], seed: 1 });
    const rng = new Rng(2);
    const raw: ImageBatch = {
      modality: 'image',
      images: Float32Array.from({ length: 3 * 144 }, () => rng.float()),
      n: 3,
      height: 12,
      width: 12,
      channels: 1,
      indices: new Int32Array(3),
    };
    const batch = tf.tidy(() => cpcTask.prepare(raw, { config, rng, training: true }));
    const vars = [
      encoder.trainableWeights[0]!,
      heads.context!.trainableWeights[0]!,
      heads.predict1!.trainableWeights[0]!,
      heads.predict2!.trainableWeights[0]!,
    ].map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () =>
        cpcTask.loss({ config, encoder, heads, batch, state: undefined, training: true, encode: (x) => encoder.apply(x, { training: true }) as tf.Tensor2D }),
      vars,
    );
    expect(value.arraySync()).toBeGreaterThan(0);
    for (const g of Object.values(grads)) expect(tf.abs(g).max().arraySync()).toBeGreaterThan(0);
  });
});

describe('CPC on sequences', () => {
  const series = (n: number, length: number, f: (s: number, t: number) => number): SequenceBatch => ({
    modality: 'sequence',
    frames: Float32Array.from({ length: n * length * 2 }, (_, i) => f(Math.floor(i / (2 * length)), Math.floor(i / 2) % length) + (i % 2)),
    n,
    length,
    frameShape: [2],
    indices: new Int32Array(n),
  });

  it('cuts series into non-overlapping chunks in (sequence, time) order', () => {
    const raw = series(2, 20, (s, t) => 100 * s + t);
    const { x, steps } = cpcSequenceUnits(raw, cpcSequenceConfig.parse({ chunk: 4, predictionSteps: 2 }));
    expect(steps).toBe(5);
    expect(x.shape).toEqual([10, 4, 2]);
    const v = x.arraySync() as number[][][];
    expect(v[6]!.map((r) => r[0])).toEqual([104, 105, 106, 107]); // sequence 1, chunk 1
    expect(v[6]![0]![1]).toBe(105); // second feature = first + 1
    expect(() => cpcSequenceUnits(raw, cpcSequenceConfig.parse({ chunk: 8, predictionSteps: 2 }))).toThrow(/2 steps, too few to predict 2 ahead/);
  });

  it('sequence InfoNCE equals a hand-computed value and the grid loss equals it on column order', () => {
    // 2 sequences × 2 steps, k = 1: context at t=0 predicts the code at t=1 of the same sequence.
    const codes = tf.tensor2d([
      [1, 0],
      [2, 0],
      [0, 1],
      [0, 3],
    ]); // (s0t0, s0t1, s1t0, s1t1)
    const contexts = tf.tensor3d([
      [
        [1, 0],
        [9, 9],
      ],
      [
        [0, 1],
        [9, 9],
      ],
    ]);
    const identity = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, useBias: false, weights: [tf.eye(2)] })] });
    const ce = (s: number[], t: number) => Math.log(s.reduce((a, x) => a + Math.exp(x), 0)) - s[t]!;
    // s0: pred [1,0] scores [1,2,0,0] target 1; s1: pred [0,1] scores [0,0,1,3] target 3.
    expect(sequenceInfoNCE(codes, contexts, [identity]).arraySync()).toBeCloseTo((ce([1, 2, 0, 0], 1) + ce([0, 0, 1, 3], 3)) / 2, 5);
  });

  it('trains on a series batch; the context at t ignores chunks after t; memory stays flat', () => {
    const config = cpcSequenceConfig.parse({ chunk: 4, contextDim: 6 });
    const encoder = createMlp({ inputShape: [4, 2], hidden: [8], outputDim: 5, seed: 0 });
    const heads = cpcSequenceTask.createHeads({ config, featureDim: 5, inputShape: [4, 2], seed: 1 });
    const rng = new Rng(4);
    const raw = series(3, 24, () => rng.normal());
    const batch = tf.tidy(() => cpcSequenceTask.prepare(raw, { config, rng, training: true }));
    // prepare keeps sequences apart: [3 sequences, 6 chunks, 4 steps, 2 features].
    expect(batch.x.shape).toEqual([3, 6, 4, 2]);
    const units = (x: tf.Tensor) => x.reshape([18, 4, 2]);
    const ctx = () => heads.context!.apply(tf.reshape(encoder.apply(units(batch.x)) as tf.Tensor, [3, 6, 5])) as tf.Tensor3D;
    const before = tf.tidy(() => ctx().arraySync());
    // Perturb the last two chunks of every sequence: contexts at t ≤ 3 must not move.
    const x2 = tf.tidy(() => units(batch.x).add(tf.tensor1d(Array.from({ length: 18 }, (_, i) => (i % 6 >= 4 ? 5 : 0))).reshape([18, 1, 1])));
    const after = tf.tidy(() => (heads.context!.apply(tf.reshape(encoder.apply(x2) as tf.Tensor, [3, 6, 5])) as tf.Tensor3D).arraySync());
    for (let s = 0; s < 3; s++) {
      for (let t = 0; t < 6; t++) {
        if (t < 4) expect(after[s]![t]).toEqual(before[s]![t]);
        else expect(after[s]![t]).not.toEqual(before[s]![t]);
      }
    }
    const vars = encoder.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () =>
      tf.tidy(
        () =>
          tf.variableGrads(
            () =>
              cpcSequenceTask.loss({
                config,
                encoder,
                heads,
                batch,
                state: undefined,
                training: true,
                encode: (x) => encoder.apply(x, { training: true }) as tf.Tensor2D,
              }),
            vars,
          ).value,
      );
    step().dispose();
    const n = tf.memory().numTensors;
    const loss = step();
    expect(loss.arraySync()).toBeGreaterThan(0);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});
