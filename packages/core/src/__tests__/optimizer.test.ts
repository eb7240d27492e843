import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Optimizer, learningRateAt } from '../optimizer';

beforeAll(async () => {
  await initBackend();
});

describe('Optimizer', () => {
  it('Adam matches the update rule computed by hand', () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, [w]);
    const g = tf.tensor2d([[0.5, -1]]);
    opt.apply([g], 0.1);
    opt.apply([g], 0.1);
    // With a constant gradient, m̂ = g and v̂ = g² each step, so each step moves by lr·sign(g)·|g|/(|g|+ε).
    const expected = [1 - 2 * 0.1 * (0.5 / (0.5 + 1e-8)), -2 + 2 * 0.1 * (1 / (1 + 1e-8))];
    const got = w.dataSync();
    expect(got[0]).toBeCloseTo(expected[0]!, 5);
    expect(got[1]).toBeCloseTo(expected[1]!, 5);
    opt.dispose();
  });

  it('SGD with momentum and decoupled weight decay matches by hand', () => {
    const w = tf.variable(tf.tensor2d([[1, 2]]));
    const b = tf.variable(tf.tensor1d([1]));
    const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, beta1: 0, beta2: 0, epsilon: 0, weightDecay: 0.1 }, [w, b]);
    opt.apply([tf.tensor2d([[1, 1]]), tf.tensor1d([1])], 0.5);
    // step 1: buf = g; w ← w − lr·(g + wd·w); biases (rank 1) get no decay.
    expect([...w.dataSync()]).toEqual([1 - 0.5 * (1 + 0.1), 2 - 0.5 * (1 + 0.2)].map((v) => Math.fround(v)));
    expect(b.dataSync()[0]).toBeCloseTo(0.5, 6);
    opt.apply([tf.tensor2d([[1, 1]]), tf.tensor1d([1])], 0.5);
    // step 2: buf = 0.9·1 + 1 = 1.9
    expect(b.dataSync()[0]).toBeCloseTo(0.5 - 0.5 * 1.9, 6);
    opt.dispose();
  });

  it('learning-rate schedule: warm-up then cosine to zero', () => {
    expect(learningRateAt(0, 100, 1, 10, 'cosine')).toBeCloseTo(0.1);
    expect(learningRateAt(9, 100, 1, 10, 'cosine')).toBeCloseTo(1);
    expect(learningRateAt(10, 100, 1, 10, 'cosine')).toBeCloseTo(1);
    expect(learningRateAt(55, 100, 1, 10, 'cosine')).toBeCloseTo(0.5);
    expect(learningRateAt(100, 100, 1, 10, 'cosine')).toBeCloseTo(0);
    expect(learningRateAt(50, 100, 0.3, 0, 'constant')).toBe(0.3);
  });
});
