import * as tf from '@tensorflow/tfjs';
import { SslError, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, createGcn, gcnNormalizedAdjacency, modelToArtifacts } from '../index';

beforeAll(async () => {
  await initBackend();
});

/** Dense Â from the coordinate lists. */
function denseAdjacency(n: number, edges: Int32Array): number[][] {
  const { src, dst, weight } = gcnNormalizedAdjacency(n, edges);
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  src.forEach((s, e) => (a[dst[e]!]![s]! += weight[e]!));
  return a;
}

describe('GCN encoder', () => {
  it('normalises the path graph 0–1–2 as D^-1/2 (A+I) D^-1/2 (degrees 2, 3, 2 with self-loops)', () => {
    const a = denseAdjacency(3, Int32Array.of(0, 1, 1, 2));
    const r6 = 1 / Math.sqrt(6);
    const expected = [
      [1 / 2, r6, 0],
      [r6, 1 / 3, r6],
      [0, r6, 1 / 2],
    ];
    a.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 6)));
    expect(() => gcnNormalizedAdjacency(3, Int32Array.of(0, 3))).toThrow(/node 3 is outside \[0, 2\]/);
  });

  it('computes PReLU(Â·X·W + b) and its gradients like the dense formula', () => {
    const edges = Int32Array.of(0, 1, 1, 2, 2, 3, 0, 3, 1, 4);
    const n = 5;
    const enc = createGcn({ numFeatures: 3, numNodes: n, edges, widths: [4], seed: 1 });
    const x = tf.tensor2d(
      Array.from({ length: n * 3 }, (_, i) => Math.sin(i + 1)),
      [n, 3],
    );
    const [kernel, bias] = enc.getWeights() as [tf.Tensor2D, tf.Tensor1D];
    const a = tf.tensor2d(denseAdjacency(n, edges));
    const r = tf.tensor2d(
      Array.from({ length: n * 4 }, (_, i) => Math.cos(i)),
      [n, 4],
    );
    const dense = (w: tf.Tensor2D) => tf.prelu(tf.add(tf.matMul(a, tf.matMul(x, w)), bias), tf.scalar(0.25));
    expect(Array.from((enc.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(dense(kernel).dataSync()).map((v) => expect.closeTo(v, 5)));
    const got = tf.variableGrads(
      () => tf.sum(tf.mul(enc.apply(x) as tf.Tensor, r)) as tf.Scalar,
      enc.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const gKernel = Object.values(got.grads)[0]!;
    const want = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(dense(w as tf.Tensor2D), r)))(kernel);
    expect(Array.from(gKernel.dataSync())).toEqual(Array.from(want.dataSync()).map((v) => expect.closeTo(v, 4)));
    expect(() => enc.predict(tf.zeros([4, 3]))).toThrow(/got 4 rows; it was built for a graph of 5 nodes/);
  });

  it('serialises with its graph, and the catalogue entry asks for a graph dataset', async () => {
    const edges = Int32Array.of(0, 1, 1, 2);
    const enc = createGcn({ numFeatures: 2, numNodes: 3, edges, widths: [3], seed: 0 });
    const x = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
    const back = await tf.loadLayersModel(tf.io.fromMemory(await modelToArtifacts(enc)));
    expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((enc.predict(x) as tf.Tensor).dataSync()));
    expect(() => createEncoder('gcn', {}, [2], 0)).toThrow(SslError);
    expect(() => createEncoder('gcn', {}, [2], 0)).toThrow(/needs a graph's adjacency/);
  });
});
