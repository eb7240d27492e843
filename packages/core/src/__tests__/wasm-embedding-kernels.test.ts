import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

// Embedding-sized gathers and their gradients (segment sums) take the fast paths of
// wasm-kernels.ts (row copies; a row loop where the one-hot matrix would not fit). Checked against
// plain loops (the cpu backend's segment sum loops over segments and is far too slow at this size).
describe('wasm embedding kernels', () => {
  it('row gather and its gradient on a 9000 × 8 table with 9000 ids match plain loops', () => {
    const rows = 9000;
    const dim = 8;
    const rng = new Rng(3);
    const table = Float32Array.from({ length: rows * dim }, () => rng.normal());
    const ids = Int32Array.from({ length: 9000 }, () => rng.int(rows));
    const dy = Float32Array.from({ length: ids.length * dim }, () => rng.normal());
    const { out, grad } = tf.tidy(() => {
      const t = tf.tensor2d(table, [rows, dim]);
      const idx = tf.tensor2d(ids, [90, 100], 'int32');
      const g = tf.grad((x) => tf.sum(tf.mul(tf.gather(x, idx), tf.tensor3d(dy, [90, 100, dim]))))(t);
      return { out: tf.gather(t, idx).dataSync().slice(), grad: g.dataSync().slice() };
    });
    const expectedOut = new Float32Array(ids.length * dim);
    const expectedGrad = new Float64Array(rows * dim);
    ids.forEach((r, i) => {
      for (let d = 0; d < dim; d++) {
        expectedOut[i * dim + d] = table[r * dim + d]!;
        expectedGrad[r * dim + d]! += dy[i * dim + d]!;
      }
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(out)).toEqual(Array.from(expectedOut));
    let maxDiff = 0;
    expectedGrad.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - grad[i]!))));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
