import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConvNet } from '../index';

let backend = '';
beforeAll(async () => {
  backend = (await initBackend()).name;
});

const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => [...w.dataSync()]);

describe('convnet on the active backend', () => {
  it('takes a gradient step that changes every trainable weight and lowers the loss', () => {
    expect(tf.getBackend()).toBe(backend);
    expect(['wasm', 'tensorflow', 'cpu']).toContain(backend);
    const m = createConvNet({ widths: [4, 8, 8], seed: 2 });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1);
    const target = tf.randomNormal([4, 8], 0, 1, 'float32', 2);
    // training: true exercises the batch-norm and max-pool gradients the wasm backend needs registered
    const loss = () => tf.losses.meanSquaredError(target, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const before = m.trainableWeights.map((w) => w.read().dataSync().slice());
    const opt = tf.train.sgd(0.05);
    const first = opt.minimize(loss, true)!;
    const l0 = first.dataSync()[0]!;
    m.trainableWeights.forEach((w, i) => expect([...w.read().dataSync()]).not.toEqual([...before[i]!]));
    expect(flat(m).every(Number.isFinite)).toBe(true);
    for (let i = 0; i < 3; i++) tf.dispose(opt.minimize(loss, true) ?? []);
    const l1 = tf.tidy(() => loss().dataSync()[0]!);
    expect(l1).toBeLessThan(l0);
    tf.dispose([first, x, target]);
    opt.dispose();
  });

  it('repeated inference inside tf.tidy leaks no tensors', () => {
    const m = createConvNet({ widths: [4, 8, 8], seed: 3 });
    const x = tf.zeros([2, 28, 28, 1]);
    tf.tidy(() => m.predict(x)); // warm-up: any lazily created tensors exist from here on
    const n = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        m.predict(x);
      });
    }
    expect(tf.memory().numTensors).toBe(n);
    x.dispose();
  });
});
