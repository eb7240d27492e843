import { Rng, createRegistry, initBackend, train } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { contrastiveTasks, simclrAugmentation, simclrConfig, simclrTask, simclrViews } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('SimCLR', () => {
  const raw = loadMnist('train', { limit: 8 }).batch(Int32Array.from({ length: 8 }, (_, i) => i));
  const aug = simclrAugmentation(simclrConfig.parse({}));

  it('makes two different views of the same images, reproducibly for a step rng', () => {
    const [a1, a2] = simclrViews(raw, aug, new Rng(1));
    const [b1, b2] = simclrViews(raw, aug, new Rng(1));
    expect([...a1.images]).toEqual([...b1.images]);
    expect([...a2.images]).toEqual([...b2.images]);
    expect([...a1.images]).not.toEqual([...a2.images]);
    expect([a1.n, a1.height, a1.width, a1.channels]).toEqual([8, 28, 28, 1]);
    // Views keep the source order: labels and indices are unchanged.
    expect([...a2.indices]).toEqual([...raw.indices]);
  });

  it('is registered in the contrastive family with the temperature chosen for batches of 128', () => {
    const r = createRegistry().use(contrastiveTasks);
    expect(r.get('simclr').family).toBe('contrastive');
    expect(r.parseConfig('simclr', {}).temperature).toBe(0.2);
  });

  it('the NT-Xent loss falls on real MNIST', async () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 3 });
    const r = await train({ task: simclrTask, encoder, source: loadMnist('train', { limit: 256 }), config: { epochs: 4, batchSize: 64, lr: 3e-3, seed: 3 } });
    const first = r.history.slice(0, 2).reduce((a, h) => a + h.loss, 0) / 2;
    const last = r.history.slice(-2).reduce((a, h) => a + h.loss, 0) / 2;
    // Chance level is ln(2N−1) = ln 127 ≈ 4.84 for 64 images per step.
    expect(first).toBeGreaterThan(4);
    expect(last).toBeLessThan(first - 0.3);
    encoder.dispose();
  });
});
