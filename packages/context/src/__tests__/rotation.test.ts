import { createRegistry, initBackend, train } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { contextTasks, rotationBatch, rotationTask } from '../index';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';

beforeAll(async () => {
  await initBackend();
});

describe('rotation prediction: data construction', () => {
  // A 3×3 two-channel image whose every value is distinct, so any interpolation or mix-up shows.
  const img = Float32Array.from({ length: 18 }, (_, i) => i / 17);
  const at = (a: Float32Array, base: number, y: number, x: number, c: number) => a[base + (y * 3 + x) * 2 + c];

  it('makes exact 90° rotations (counter-clockwise, no interpolation), all four in the same batch', () => {
    const { images, labels } = rotationBatch(img, 1, 3, 3, 2);
    expect([...labels]).toEqual([0, 1, 2, 3]);
    // k=0 is the image itself.
    expect([...images.subarray(0, 18)]).toEqual([...img]);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 3; x++)
        for (let c = 0; c < 2; c++) {
          // 90° counter-clockwise: out[y][x] = in[x][W-1-y]
          expect(at(images, 18, y, x, c)).toBe(at(img, 0, x, 2 - y, c));
          // 180°: out[y][x] = in[H-1-y][W-1-x]
          expect(at(images, 36, y, x, c)).toBe(at(img, 0, 2 - y, 2 - x, c));
          // 270°: out[y][x] = in[H-1-x][y]
          expect(at(images, 54, y, x, c)).toBe(at(img, 0, 2 - x, y, c));
        }
    // Every rotation is a permutation of the same pixel values.
    for (let k = 1; k < 4; k++) expect([...images.subarray(18 * k, 18 * (k + 1))].sort()).toEqual([...img].sort());
  });

  it('labels are exactly balanced over a batch, with each image present 4 times', () => {
    const n = 5;
    const batch = Float32Array.from({ length: n * 4 }, (_, i) => i);
    const { labels, images } = rotationBatch(batch, n, 2, 2, 1);
    const counts = [0, 0, 0, 0];
    for (const l of labels) counts[l]!++;
    expect(counts).toEqual([n, n, n, n]);
    expect(images.length).toBe(4 * n * 4);
  });

  it('rejects non-square images with the shape and the fix', () => {
    expect(() => rotationBatch(new Float32Array(6), 1, 2, 3, 1)).toThrow(/square images.*2×3/);
  });

  it('is registered in the context family with the paper defaults', () => {
    const r = createRegistry().use(contextTasks);
    expect(r.get('rotation').family).toBe('context');
    expect(r.parseConfig('rotation', {})).toEqual({ hidden: 512 });
    expect(rotationTask.examplesPerInput?.({ hidden: 0 })).toBe(4);
  });
});

describe('rotation prediction: training on real MNIST', () => {
  it('the pretext loss falls well below chance (ln 4) in a few steps', async () => {
    const data = loadMnist('train', { limit: 256 });
    const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 1 });
    const r = await train({ task: rotationTask, encoder, source: data, config: { epochs: 3, batchSize: 32, lr: 3e-3, seed: 1 } });
    const first = r.history[0]!.loss;
    const last = r.history.slice(-4).reduce((a, h) => a + h.loss, 0) / 4;
    expect(first).toBeGreaterThan(1.2);
    expect(last).toBeLessThan(Math.log(4) * 0.75);
    encoder.dispose();
  });
});
