import * as tf from '@tensorflow/tfjs';
import { centredChannelSums, channelAffine, initBackend, Rng } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormalization } from '../batch-norm';

function randomArray(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => shift + scale * r.normal());
}

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

/** One training-mode call of `layer` and the gradients of Σ y · w, on the active backend. */
function trainingStep(layer: tf.layers.Layer, x: Float32Array, w: Float32Array, gamma: Float32Array, shape: number[]): Result {
  return tf.tidy(() => {
    const xt = tf.tensor(x, shape);
    const wt = tf.tensor(w, shape);
    layer.build(shape);
    layer.setWeights([tf.tensor(gamma), tf.tensor(randomArray(gamma.length, 9)), tf.zeros([gamma.length]), tf.ones([gamma.length])]);
    const [g, b] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    // Three training calls, each updating the moving statistics once.
    const y = layer.apply(xt, { training: true }) as tf.Tensor;
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, wt)))(xt);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xt, { training: true }) as tf.Tensor, wt)) as tf.Scalar, [g!, b!]);
    const [mm, mv] = layer.getWeights().slice(2);
    return {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dGamma: grads[g!.name]!.dataSync() as Float32Array,
      dBeta: grads[b!.name]!.dataSync() as Float32Array,
      movingMean: mm!.dataSync() as Float32Array,
      movingVariance: mv!.dataSync() as Float32Array,
    };
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  const scale = Math.max(1e-6, ...b.map(Math.abs));
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / scale));
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('batch norm (our layer) matches tf.layers.batchNormalization on cpu', () => {
  // 300 rows: two blocks of the fused sums (256 rows each); 13 channels: the kernels' 8-wide
  // path and their scalar tail; 8 channels: the 8-wide path only. Inputs off-centre (mean 3).
  it.each([[[3, 10, 10, 13]], [[2, 5, 5, 8]], [[300, 13]]])('y, dx, dγ, dβ and moving statistics, shape %j', async (shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const c = shape.at(-1)!;
    const x = randomArray(n, 1, 2, 3);
    const w = randomArray(n, 2);
    const gamma = randomArray(c, 3, 0.5, 1);
    await tf.setBackend('cpu');
    const reference = trainingStep(tf.layers.batchNormalization({ momentum: 0.9 }), x, w, gamma, shape);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const fused = backend === 'wasm';
      // The fused kernels run on wasm only; elsewhere our layer uses tf ops.
      const probe = tf.tidy(() => centredChannelSums(tf.ones([2, c]), tf.zeros([c])) !== undefined);
      expect(probe).toBe(fused);
      const ours = trainingStep(batchNormalization({ momentum: 0.9 }), x, w, gamma, shape);
      for (const key of Object.keys(reference) as (keyof Result)[]) {
        expect(maxRelDiff(ours[key], reference[key]), `${key} on ${backend}`).toBeLessThan(2e-5);
      }
    }
  });
});

describe('fused channel kernels on wasm', () => {
  it('centredChannelSums and channelAffine equal their formulas', async () => {
    await tf.setBackend('wasm');
    const [rows, c] = [600, 11];
    const x = tf.tensor2d(randomArray(rows * c, 4, 1, 2), [rows, c]);
    const dy = tf.tensor2d(randomArray(rows * c, 5), [rows, c]);
    const [mean, a, b, k] = [6, 7, 8, 9].map((s) => tf.tensor1d(randomArray(c, s)));
    const expectClose = (got: tf.Tensor | undefined, want: tf.Tensor) => {
      expect(got).toBeDefined();
      expect(got!.shape).toEqual(want.shape);
      expect(maxRelDiff(got!.dataSync() as Float32Array, want.dataSync() as Float32Array)).toBeLessThan(1e-5);
    };
    tf.tidy(() => {
      const centred = tf.sub(x, mean!);
      expectClose(centredChannelSums(x, mean!), tf.sum(tf.square(centred), 0));
      expectClose(centredChannelSums(x, mean!, dy), tf.stack([tf.sum(dy, 0), tf.sum(tf.mul(dy, centred), 0)]));
      expectClose(channelAffine(x, a!, b!), tf.add(tf.mul(x, a!), b!));
      expectClose(channelAffine(x, a!, b!, dy, k), tf.add(tf.add(tf.mul(x, a!), b!), tf.mul(dy, k!)));
      // Shapes it does not handle: undefined, and the caller uses tf ops.
      expect(channelAffine(x, tf.ones([c + 1]), b!)).toBeUndefined();
      expect(centredChannelSums(x, mean!, tf.zeros([rows, c + 1]))).toBeUndefined();
    });
    tf.dispose([x, dy, mean!, a!, b!, k!]);
  });
});
