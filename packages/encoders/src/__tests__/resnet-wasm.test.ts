import * as tf from '@tensorflow/tfjs';
import { Optimizer, Rng, applyForTraining, initBackend, resetWasmHeapPeak, wasmHeapStats } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormalization } from '../batch-norm';
import { createResNet18Small } from '../index';

function randomArray(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('memory-lean batch normalisation', () => {
  it.each(['cpu', 'wasm'])('matches tf.layers.batchNormalization in output, gradients and moving statistics on %s', async (backend) => {
    await tf.setBackend(backend);
    const x = tf.tensor4d(
      randomArray(4 * 5 * 5 * 6, 1).map((v) => 3 * v + 1),
      [4, 5, 5, 6],
    );
    const dy = tf.tensor4d(randomArray(4 * 5 * 5 * 6, 2), [4, 5, 5, 6]);
    const run = (layer: tf.layers.Layer) => {
      layer.build(x.shape);
      // Non-trivial γ, β so their gradients and the scaling are exercised.
      layer.setWeights([tf.tensor1d(randomArray(6, 3)), tf.tensor1d(randomArray(6, 4)), tf.zeros([6]), tf.ones([6])]);
      const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, dy)), weights);
      const dx = tf.grad((xi) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, dy)))(x);
      const out = {
        loss: value.dataSync()[0]!,
        grads: weights.map((w) => Array.from(grads[w.name]!.dataSync())),
        dx: Array.from(dx.dataSync()),
        moving: layer
          .getWeights()
          .slice(2)
          .map((w) => Array.from(w.dataSync())),
      };
      tf.dispose([value, dx, ...Object.values(grads)]);
      return out;
    };
    const ours = run(batchNormalization({ momentum: 0.9 }));
    const theirs = run(tf.layers.batchNormalization({ momentum: 0.9 }));
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 3));
    expect(ours.loss).toBeCloseTo(theirs.loss, 3);
    ours.grads.forEach((g, i) => close(g, theirs.grads[i]!));
    close(ours.dx, theirs.dx);
    ours.moving.forEach((m, i) => close(m, theirs.moving[i]!));
    tf.dispose([x, dy]);
    await tf.setBackend('wasm');
  });

  it('serialises as the standard layer, so saved encoders load without it', () => {
    const bn = batchNormalization({ momentum: 0.9, name: 'bn' });
    expect(bn.getClassName()).toBe('BatchNormalization');
    expect(bn.getConfig()).toEqual(tf.layers.batchNormalization({ momentum: 0.9, name: 'bn' }).getConfig());
  });
});

describe('ResNet-18 trains on wasm', () => {
  it('takes SimCLR-like steps at reduced width with a flat tensor count and a falling loss', () => {
    const encoder = createResNet18Small({ inputShape: [16, 16, 3], width: 1 / 16, seed: 0 });
    const vars = encoder.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
    const x = tf.tensor4d(randomArray(8 * 16 * 16 * 3, 5), [8, 16, 16, 3]);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const z = tf.div(encoder.apply(x, { training: true }) as tf.Tensor, 1);
          // Pull the two halves' features together and push the mean apart: a loss that moves.
          const [a, b] = tf.split(z, 2, 0) as [tf.Tensor, tf.Tensor];
          return tf.sub(tf.mean(tf.square(tf.sub(a, b))), tf.mul(0.1, tf.mean(tf.square(z))));
        }, vars);
        opt.apply(
          vars.map((v) => grads[v.name]),
          1e-2,
        );
        return value;
      });
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(new Set(counts.slice(1)).size).toBe(1);
    tf.dispose(x);
    opt.dispose();
    encoder.dispose();
  });
});

describe('ResNet-18 forward pass for training', () => {
  it('peaks at least 20 % lower with applyForTraining than with apply, with bit-identical gradients', () => {
    const encoder = createResNet18Small({ inputShape: [16, 16, 3], width: 1 / 8, seed: 0 });
    const vars = encoder.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.tensor4d(randomArray(16 * 16 * 16 * 3, 6), [16, 16, 16, 3]);
    const run = (forward: () => tf.Tensor) => {
      let peak = 0;
      const { value, grads } = tf.variableGrads(() => {
        resetWasmHeapPeak();
        const base = wasmHeapStats().liveBytes;
        const z = forward();
        peak = wasmHeapStats().peakBytes - base;
        return tf.sum(tf.square(z));
      }, vars);
      const out = { peak, grads: vars.map((v) => Array.from(grads[v.name]!.dataSync())) };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const plain = run(() => encoder.apply(x, { training: true }) as tf.Tensor);
    const lean = run(() => applyForTraining(encoder, x) as tf.Tensor);
    expect(lean.grads).toEqual(plain.grads);
    // Batch-norm outputs and residual sums are freed as soon as their ReLU has run.
    expect(lean.peak).toBeLessThan(0.8 * plain.peak);
    tf.dispose(x);
    encoder.dispose();
  });
});
