import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';
import { splitSizes, startWasmPool, wasmPoolStats } from '../wasm-pool';

function randomArray(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

/** Conv forward (strided, fused bias+ReLU), input and filter gradients, on the current backend. */
function convStep(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomArray(8 * 18 * 18 * 32, 1), [8, 18, 18, 32]);
    const w = tf.tensor4d(
      randomArray(3 * 3 * 32 * 32, 2).map((v) => v * 0.1),
      [3, 3, 32, 32],
    );
    const b = tf.tensor1d(randomArray(32, 3));
    const y = tf.fused.conv2d({ x, filter: w, bias: b, strides: 2, pad: 'same', activation: 'relu' });
    const [gx, gw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.square(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')).sum())([x, w]);
    const [gx2, gw2] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid').sum())([x, w]);
    return [y, gx!, gw!, gx2!, gw2!].map((t) => t.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 2 });
});

afterAll(async () => {
  await startWasmPool(1);
});

describe('wasm worker pool', () => {
  it('reports its thread count and rejects an invalid one in one line', async () => {
    const lines: string[] = [];
    const info = await initBackend({ backend: 'wasm', threads: 2, log: (l) => lines.push(l) });
    expect(info.threads).toBe(2);
    expect(lines).toEqual(['backend: wasm (forced), 2 threads']);
    await expect(initBackend({ backend: 'wasm', threads: 0 })).rejects.toThrow(
      /^Invalid thread count 0 \(--threads \/ SSL_THREADS\)\. Must be an integer from 1 to 256/,
    );
  });

  it('splits a batch into near-equal chunks that depend only on the batch and thread count', () => {
    expect(splitSizes(7, 2)).toEqual([4, 3]);
    expect(splitSizes(3, 4)).toEqual([1, 1, 1]);
    expect(splitSizes(12, 3)).toEqual([4, 4, 4]);
  });

  it('pooled convolution kernels agree with the cpu backend, repeat exactly, and match one thread', async () => {
    // The sizes are chosen so every kernel passes the pool's work threshold.
    const jobs0 = wasmPoolStats().jobs;
    const pooled = convStep();
    // Seven convolution kernels (three forward, two input and two filter gradients), two chunks each.
    expect(wasmPoolStats().jobs - jobs0).toBe(14);
    const again = convStep();
    await startWasmPool(1);
    const single = convStep();
    await startWasmPool(2);
    await tf.setBackend('cpu');
    const cpu = convStep();
    await tf.setBackend('wasm');
    pooled.forEach((a, k) => {
      expect(Array.from(again[k]!)).toEqual(Array.from(a));
      let maxDiff = 0;
      let scale = 0;
      a.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - cpu[k]![i]!));
        scale = Math.max(scale, Math.abs(cpu[k]![i]!));
      });
      expect(maxDiff / scale).toBeLessThan(1e-4);
    });
    // Forward and input gradients: each element computed by one thread, as with one thread.
    for (const k of [0, 1, 3]) expect(Array.from(pooled[k]!)).toEqual(Array.from(single[k]!));
  });
});
