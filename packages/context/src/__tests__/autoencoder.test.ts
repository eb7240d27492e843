import * as tf from '@tensorflow/tfjs';
import { initBackend, train } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { autoencoderTask, createDecoder, reconstructionLoss } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('autoencoder baseline', () => {
  it('reconstruction losses match hand-computed values', () => {
    const target = tf.tensor4d([1, 0, 0.5, 1], [1, 2, 2, 1]);
    const recon = tf.tensor4d([0.5, 0.5, 0.5, 0.9], [1, 2, 2, 1]);
    // MSE = (0.25 + 0.25 + 0 + 0.01) / 4
    expect(reconstructionLoss(target, recon, 'mse').dataSync()[0]).toBeCloseTo(0.51 / 4, 6);
    // BCE = -mean(t·ln p + (1-t)·ln(1-p))
    const bce = -(Math.log(0.5) + Math.log(0.5) + (0.5 * Math.log(0.5) + 0.5 * Math.log(0.5)) + Math.log(0.9)) / 4;
    expect(reconstructionLoss(target, recon, 'bce').dataSync()[0]).toBeCloseTo(bce, 5);
  });

  it('the decoder maps features back to the image shape and rejects sides not divisible by 4', () => {
    const dec = createDecoder(16, [28, 28, 1], 8, 0);
    const y = dec.predict(tf.zeros([2, 16])) as tf.Tensor;
    expect(y.shape).toEqual([2, 28, 28, 1]);
    expect(() => createDecoder(16, [30, 30, 1], 8, 0)).toThrow(/divisible by 4; got 30×30/);
  });

  it('reconstruction error falls on real MNIST', async () => {
    const data = loadMnist('train', { limit: 256 });
    const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 2 });
    const r = await train({ task: autoencoderTask, encoder, source: data, config: { epochs: 4, batchSize: 32, lr: 3e-3, seed: 2 } });
    const first = r.history.slice(0, 3).reduce((a, h) => a + h.loss, 0) / 3;
    const last = r.history.slice(-3).reduce((a, h) => a + h.loss, 0) / 3;
    expect(last).toBeLessThan(first * 0.8);
    encoder.dispose();
  });
});
