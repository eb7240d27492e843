import * as tf from '@tensorflow/tfjs';
import { Optimizer, Rng, initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ntXentLoss } from '../losses';

// The benchmark's standard step (ConvNet encoder, Dense(128)-ReLU-Dense(64) projector, NT-Xent τ=0.5,
// Adam 1e-3), scaled down to a small batch, run for 20 steps on each backend from the same
// initial weights and data. The wasm backend runs our replacement kernels; cpu is the reference.
const STEPS = 20;
const N = 8;

function data(seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: STEPS }, () => Float32Array.from({ length: 2 * N * 28 * 28 }, () => rng.float()));
}

async function trainOn(backend: string, batches: Float32Array[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [8, 16, 32], seed: 3 });
  const head = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [32], units: 128, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
      tf.layers.dense({ units: 64, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
    ],
  });
  const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read() as tf.Variable);
  const opt = new Optimizer({ kind: 'adam', momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
  for (const b of batches) {
    tf.tidy(() => {
      const x = tf.tensor4d(b, [2 * N, 28, 28, 1]);
      const { grads } = tf.variableGrads(() => {
        const z = head.apply(encoder.apply(x, { training: true }), { training: true }) as tf.Tensor2D;
        const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
        return ntXentLoss(z1, z2, 0.5);
      }, vars);
      opt.apply(
        vars.map((v) => grads[v.name]),
        1e-3,
      );
    });
  }
  const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
  opt.dispose();
  encoder.dispose();
  head.dispose();
  return weights;
}

describe('the standard training step agrees between wasm and cpu', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('gives the same weights after 20 Adam steps (max abs difference < 2e-3)', async () => {
    const batches = data(11);
    const cpu = await trainOn('cpu', batches);
    const wasm = await trainOn('wasm', batches);
    expect(wasm.length).toBe(cpu.length);
    let maxDiff = 0;
    let maxMove = 0;
    cpu.forEach((w, i) => {
      const other = wasm[i]!;
      expect(other.length).toBe(w.length);
      w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - other[j]!))));
    });
    // The comparison means something only if training moved the weights far more than the tolerance.
    const initial = await trainOn('cpu', []);
    cpu.forEach((w, i) => w.forEach((v, j) => (maxMove = Math.max(maxMove, Math.abs(v - initial[i]![j]!)))));
    expect(maxMove).toBeGreaterThan(1e-2);
    expect(maxDiff).toBeLessThan(2e-3);
  });
});
