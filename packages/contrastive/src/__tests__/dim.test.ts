import * as tf from '@tensorflow/tfjs';
import { createRegistry, initBackend, train } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet, createMlp } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { contrastiveTasks, dimConfig, dimInfoNCELoss, dimJsdLoss, dimTask, localFeatureLayer, type DimState } from '../index';

beforeAll(async () => {
  await initBackend();
});

const softplus = (x: number) => Math.log(1 + Math.exp(x));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
// 2 images, 3 local positions, 2-d space.
const G = [
  [1, -0.5],
  [0.2, 0.8],
];
const L = [
  [
    [0.5, 0.1],
    [-1, 0.3],
    [0.2, 0.2],
  ],
  [
    [0, 1],
    [0.7, -0.4],
    [1.5, 0.5],
  ],
];

describe('Deep InfoMax', () => {
  it('JSD loss = mean softplus(−s) over same-image pairs + mean softplus(s) over cross-image pairs', () => {
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let p = 0; p < 3; p++) {
          const s = dot(G[i]!, L[j]![p]!);
          if (i === j) pos += softplus(-s) / 6;
          else neg += softplus(s) / 6;
        }
    const got = dimJsdLoss(tf.tensor2d(G), tf.tensor3d(L)).dataSync()[0]!;
    expect(Math.abs(got - (pos + neg))).toBeLessThan(1e-5);
  });

  it('InfoNCE loss: each local vector picks its own image among the global vectors', () => {
    let total = 0;
    for (let j = 0; j < 2; j++)
      for (let p = 0; p < 3; p++) {
        const s = [0, 1].map((i) => dot(G[i]!, L[j]![p]!));
        total += -(s[j]! - Math.log(Math.exp(s[0]!) + Math.exp(s[1]!)));
      }
    const got = dimInfoNCELoss(tf.tensor2d(G), tf.tensor3d(L)).dataSync()[0]!;
    expect(Math.abs(got - total / 6)).toBeLessThan(1e-5);
  });

  it('local and global vectors come from the same forward pass of the encoder', () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 1 });
    expect((localFeatureLayer(encoder).outputShape as number[]).slice(1)).toEqual([14, 14, 8]);
    const config = dimConfig.parse({});
    const state = dimTask.createState!({ config, featureDim: 8, inputShape: [28, 28, 1], seed: 0, encoder }) as DimState;
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 4);
    const [map, global] = state.both.predict(x) as [tf.Tensor4D, tf.Tensor2D];
    // The global features are the encoder's own output, and the global pool of the local map.
    expect(global.arraySync()).toEqual((encoder.predict(x) as tf.Tensor).arraySync());
    const pooled = map.mean([1, 2]).arraySync() as number[][];
    (global.arraySync() as number[][]).forEach((row, i) => row.forEach((v, c) => expect(v).toBeCloseTo(pooled[i]![c]!, 5)));
    expect(() => localFeatureLayer(createMlp({ inputShape: [784], hidden: [8], outputDim: 4, seed: 0 }))).toThrow(/convolutional/);
    tf.dispose([x, map, global]);
    encoder.dispose();
  });

  it('both estimators are selectable and the loss falls on real MNIST', async () => {
    const r = createRegistry().use(contrastiveTasks);
    expect(r.get('dim').family).toBe('contrastive');
    expect(r.parseConfig('dim', {}).estimator).toBe('infonce');
    expect(() => r.parseConfig('dim', { estimator: 'mine' } as never)).toThrow(/estimator/);
    for (const estimator of ['jsd', 'infonce'] as const) {
      const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 2 });
      const res = await train({
        task: dimTask,
        taskConfig: { estimator, hidden: 16, embedDim: 8 },
        encoder,
        source: loadMnist('train', { limit: 64 }),
        config: { epochs: 6, batchSize: 32, lr: 3e-3, seed: 1 },
      });
      const first = res.history[0]!.loss;
      const last = res.history.at(-1)!.loss;
      expect(last).toBeLessThan(first);
      encoder.dispose();
    }
  });
});
