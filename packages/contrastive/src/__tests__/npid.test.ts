import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { contrastiveTasks, knnFromBank, npidConfig, npidTask, updateBank, type NpidState } from '../index';

beforeAll(async () => {
  await initBackend();
});

const unit = (v: number[]) => {
  const s = Math.hypot(...v);
  return v.map((x) => x / s);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('NPID memory bank', () => {
  it('is registered in the contrastive family with the paper defaults', () => {
    const c = createRegistry().use(contrastiveTasks).parseConfig('npid', {});
    expect([c.temperature, c.bankMomentum, c.negatives, c.featureDim]).toEqual([0.07, 0.5, 4096, 128]);
  });

  it('updateBank moves only the batch rows, by v ← normalise(m·v + (1−m)·f), and keeps every row unit-norm', () => {
    const r = new Rng(3);
    const init = Array.from({ length: 6 }, () => unit([r.normal(), r.normal(), r.normal()]));
    const bank = tf.variable(tf.tensor2d(init));
    const stored = bank.arraySync() as number[][]; // the float32 values
    const feats = [
      [2, 0, 0],
      [0, -3, 1],
    ];
    updateBank(bank, tf.tensor1d([4, 1], 'int32'), tf.tensor2d(feats), 0.5);
    const after = bank.arraySync() as number[][];
    after.forEach((row, i) => {
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      if (i !== 4 && i !== 1) expect(row).toEqual(stored[i]);
    });
    const expected = (v: number[], f: number[]) => unit(v.map((x, j) => 0.5 * x + 0.5 * unit(f)[j]!));
    expected(init[4]!, feats[0]!).forEach((x, j) => expect(after[4]![j]).toBeCloseTo(x, 5));
    expected(init[1]!, feats[1]!).forEach((x, j) => expect(after[1]![j]).toBeCloseTo(x, 5));
    // Rows without a feature yet (written = 0) take the normalised feature itself.
    updateBank(bank, tf.tensor1d([2, 4], 'int32'), tf.tensor2d(feats), 0.5, tf.tensor1d([0, 1]));
    const third = bank.arraySync() as number[][];
    unit(feats[0]!).forEach((x, j) => expect(third[2]![j]).toBeCloseTo(x, 5));
    expected(after[4]!, feats[1]!).forEach((x, j) => expect(third[4]![j]).toBeCloseTo(x, 5));
    bank.dispose();
  });

  it('the loss matches a hand-computed softmax over the own row and the sampled negatives', () => {
    const config = npidConfig.parse({ bankSize: 4, featureDim: 2, negatives: 3, temperature: 0.5 });
    const heads = { embed: tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, useBias: false, weights: [tf.eye(2)] })] }) };
    const state = npidTask.createState!({ config, featureDim: 2, inputShape: [2], seed: 0, encoder: undefined as never }) as NpidState;
    const bankRows = [unit([1, 0]), unit([0, 1]), unit([1, 1]), unit([-1, 2])];
    state.bank.assign(tf.tensor2d(bankRows));
    // Rows 0, 2, 3 written; row 1 not yet (its positive is the feature itself).
    state.written.assign(tf.tensor1d([1, 0, 1, 1]));
    const feats = [
      [3, 1],
      [-1, 2],
    ];
    const u = [0.1, 0.5, 0.9]; // written rows [0, 2, 3] → negatives rows 0, 2, 3
    const batch = { x: tf.zeros([2, 1, 1, 1]) as tf.Tensor4D, rows: tf.tensor1d([0, 1], 'int32'), u: tf.tensor1d(u) };
    const got = npidTask.loss({ config, encoder: undefined as never, heads, batch, state, training: false, encode: () => tf.tensor2d(feats) }).dataSync()[0]!;
    const negs = [0, 2, 3].map((i) => bankRows[i]!);
    const byHand = feats.map(unit).map((f, i) => {
      const pos = i === 0 ? bankRows[0]! : f;
      const logits = [pos, ...negs].map((k) => dot(f, k) / 0.5);
      return -(logits[0]! - Math.log(logits.reduce((s, l) => s + Math.exp(l), 0)));
    });
    expect(Math.abs(got - (byHand[0]! + byHand[1]!) / 2)).toBeLessThan(1e-5);
    state.dispose();
  });

  it('a training step updates only the batch rows of the bank, which stay unit-norm', () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 1 });
    const config = npidConfig.parse({ bankSize: 20, negatives: 8, featureDim: 4 });
    const ctx = { config, featureDim: 8, inputShape: [28, 28, 1], seed: 2 };
    const heads = npidTask.createHeads(ctx);
    const state = npidTask.createState!({ ...ctx, encoder }) as NpidState;
    const raw = loadMnist('train', { limit: 20 }).batch(Int32Array.from([3, 7, 11, 19]), new Rng(0));
    const before = state.bank.arraySync() as number[][];
    const batch = tf.tidy(() => npidTask.prepare(raw, { config, rng: new Rng(1), training: true }));
    tf.tidy(() => npidTask.loss({ config, encoder, heads, batch, state, training: true, encode: (x) => encoder.apply(x) as tf.Tensor2D }));
    state.afterStep!({ encoder, heads, batch, step: 0 });
    const after = state.bank.arraySync() as number[][];
    after.forEach((row, i) => {
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      if ([3, 7, 11, 19].includes(i)) expect(row).not.toEqual(before[i]);
      else expect(row).toEqual(before[i]);
    });
    expect(Array.from(state.written.dataSync()).flatMap((w, i) => (w ? [i] : []))).toEqual([3, 7, 11, 19]);
    // An index past the bank is a clear error.
    const big = loadMnist('train', { limit: 30 }).batch(Int32Array.from([25]), new Rng(0));
    expect(() => npidTask.prepare(big, { config, rng: new Rng(1), training: true })).toThrow(/bankSize/);
    tf.dispose(Object.values(batch));
    state.dispose();
    encoder.dispose();
  });

  it('knnFromBank votes with the labels of the most similar rows', () => {
    const bank = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [0, 1],
      [0.1, 0.9],
      [-1, 0],
    ]);
    const labels = Int32Array.from([0, 0, 1, 1, 2]);
    const pred = knnFromBank(
      bank,
      labels,
      tf.tensor2d([
        [1, 0.05],
        [0.05, 1],
        [-1, -0.1],
      ]),
      { k: 2 },
    );
    expect(Array.from(pred)).toEqual([0, 1, 2]);
    // k = 5 with a hot temperature: the weighted vote still favours the close class.
    expect(Array.from(knnFromBank(bank, labels, tf.tensor2d([[1, 0]]), { k: 5, temperature: 0.1 }))).toEqual([0]);
  });
});
