import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, type Heads } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { cloneModel, contrastiveTasks, emaUpdate, enqueue, mocoConfig, mocoTask, type MocoState } from '../index';

beforeAll(async () => {
  await initBackend();
});

const snapshot = (m: tf.LayersModel) => m.trainableWeights.map((w) => Array.from(w.read().dataSync()));

describe('MoCo', () => {
  const raw = loadMnist('train', { limit: 8 }).batch(
    Int32Array.from({ length: 8 }, (_, i) => i),
    new Rng(0),
  );

  it('is registered in the contrastive family with τ = 0.07 and a FIFO queue', () => {
    const r = createRegistry().use(contrastiveTasks);
    expect(r.get('moco').family).toBe('contrastive');
    const c = r.parseConfig('moco', {});
    expect(c.temperature).toBe(0.07);
    expect(() => r.parseConfig('moco', { momentum: 1.5 })).toThrow(/momentum/);
  });

  it('enqueue replaces the oldest keys first and wraps the pointer', () => {
    const queue = tf.variable(
      tf.tensor2d([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ]),
    );
    const next = enqueue(
      queue,
      tf.tensor2d([
        [10, 10],
        [11, 11],
        [12, 12],
      ]),
      3,
    );
    expect(next).toBe(1);
    expect(queue.arraySync()).toEqual([
      [12, 12],
      [1, 1],
      [2, 2],
      [10, 10],
      [11, 11],
    ]);
    // The next batch continues where the last one stopped: row 1 is now the oldest.
    expect(enqueue(queue, tf.tensor2d([[20, 20]]), next)).toBe(2);
    expect(queue.arraySync()[1]).toEqual([20, 20]);
    // More keys than rows: only the newest K survive, in FIFO order.
    const small = tf.variable(tf.zeros([2, 1]));
    // As if pushed one by one: 1 → row 0, 2 → row 1, 3 → row 0; the pointer ends at row 1.
    expect(enqueue(small, tf.tensor2d([[1], [2], [3]]), 0)).toBe(1);
    expect(small.arraySync()).toEqual([[3], [2]]);
    tf.dispose([queue, small]);
  });

  it('emaUpdate sets θk ← m·θk + (1−m)·θq', () => {
    const q = createConvNet({ inputShape: [8, 8, 1], widths: [2, 3], seed: 1 });
    const k = createConvNet({ inputShape: [8, 8, 1], widths: [2, 3], seed: 2 });
    const [tq, tk] = [snapshot(q), snapshot(k)];
    emaUpdate(k, q, 0.9);
    snapshot(k).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(0.9 * tk[i]![j]! + 0.1 * tq[i]![j]!, 6)));
    q.dispose();
    k.dispose();
  });

  it('one step: the key encoder gets no gradient and afterwards equals the EMA of the updated query encoder', () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 3 });
    const config = mocoConfig.parse({ queueSize: 16, momentum: 0.9 });
    const ctx = { config, featureDim: 8, inputShape: [28, 28, 1], seed: 5 };
    const heads = mocoTask.createHeads(ctx) as Heads;
    const state = mocoTask.createState!({ ...ctx, encoder }) as MocoState;
    // A clone is a separate copy: same weights, different variables.
    expect(snapshot(state.keyEncoder)).toEqual(snapshot(encoder));
    expect(state.keyEncoder.trainableWeights[0]!.read().id).not.toBe(encoder.trainableWeights[0]!.read().id);

    const batch = tf.tidy(() => mocoTask.prepare(raw, { config, rng: new Rng(7), training: true }));
    const lossOf = () =>
      mocoTask.loss({
        config,
        encoder,
        heads: heads as never,
        batch,
        state,
        training: true,
        encode: (x) => encoder.apply(x, { training: true }) as tf.Tensor2D,
      });
    const qVars = [...encoder.trainableWeights, ...heads.projector!.trainableWeights].map((w) => w.read() as tf.Variable);
    const kVars = [...state.keyEncoder.trainableWeights, ...state.keyProjector.trainableWeights].map((w) => w.read() as tf.Variable);
    const kGrads = tf.variableGrads(lossOf, kVars);
    const kGradNorm = Object.values(kGrads.grads).reduce((s, g) => s + g.abs().sum().dataSync()[0]!, 0);
    expect(kGradNorm).toBe(0);
    // The query side does get a gradient; apply plain SGD to it.
    const qGrads = tf.variableGrads(lossOf, qVars);
    expect(Object.values(qGrads.grads).reduce((s, g) => s + g.abs().sum().dataSync()[0]!, 0)).toBeGreaterThan(0);
    const kBefore = snapshot(state.keyEncoder);
    qVars.forEach((v) => v.assign(v.sub(qGrads.grads[v.name]!.mul(0.5))));
    const qAfter = snapshot(encoder);
    expect(qAfter).not.toEqual(kBefore);
    // The loss stashed this step's keys; afterStep enqueues them (rows 0..7) and does the EMA.
    const queueBefore = state.queue.arraySync() as number[][];
    state.afterStep!({ encoder, heads, batch, step: 0 });
    snapshot(state.keyEncoder).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(0.9 * kBefore[i]![j]! + 0.1 * qAfter[i]![j]!, 5)));
    expect(state.pointer.dataSync()[0]).toBe(8);
    const queueAfter = state.queue.arraySync() as number[][];
    expect(queueAfter.slice(8)).toEqual(queueBefore.slice(8));
    queueAfter.slice(0, 8).forEach((row) => expect(Math.hypot(...row)).toBeCloseTo(1, 5));
    expect(queueAfter.slice(0, 8)).not.toEqual(queueBefore.slice(0, 8));
    tf.dispose([kGrads.value, qGrads.value, ...Object.values(kGrads.grads), ...Object.values(qGrads.grads), ...Object.values(batch)]);
    state.dispose();
    encoder.dispose();
  });

  it('shuffling BN: the key permutation and its inverse restore the batch order', () => {
    const config = mocoConfig.parse({});
    const b = mocoTask.prepare(raw, { config, rng: new Rng(2), training: true });
    const perm = Array.from(b.perm!.dataSync());
    expect(perm).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(tf.gather(b.perm!, b.inverse!).dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(b.x!.shape).toEqual([16, 28, 28, 1]);
    tf.dispose(Object.values(b));
  });

  it('cloneModel copies weights into new variables', () => {
    const m = createConvNet({ inputShape: [8, 8, 1], widths: [2], seed: 4 });
    const c = cloneModel(m);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    expect(Array.from((c.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
    tf.dispose([x]);
    m.dispose();
    c.dispose();
  });
});
