import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { NEIGHBOUR_OFFSETS, contextTasks, patchGrid, relativeLocationConfig, relativeLocationPairs, relativeLocationTask } from '../index';

beforeAll(async () => {
  await initBackend();
});

const defaults = relativeLocationConfig.parse({});

describe('relative-location: data construction', () => {
  it('fits a 3×3 grid of patches with a gap of half a patch and 1 px jitter into 28×28 and 32×32', () => {
    expect(patchGrid(28, 28, 0.5, 7 / 96)).toEqual({ patch: 6, gap: 3, jitter: 1, origin: [2, 2] });
    expect(patchGrid(32, 32, 0.5, 7 / 96)).toEqual({ patch: 7, gap: 4, jitter: 1, origin: [1, 1] });
    expect(() => patchGrid(8, 8, 0.5, 0.1)).toThrow(/8×8/);
  });

  it('labels are uniform over the 8 positions (exactly balanced per batch)', () => {
    const n = 800;
    const { labels } = relativeLocationPairs(new Float32Array(n * 28 * 28), n, 28, 28, 1, defaults, new Rng(3));
    const counts = new Array(8).fill(0);
    for (const l of labels) counts[l]++;
    expect(counts).toEqual(new Array(8).fill(100));
    // Shuffled, not a fixed cycle.
    expect([...labels.subarray(0, 16)]).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('places the neighbour in the labelled direction with a gap (never touching) and jitter, and crops exact pixels', () => {
    // Pixel value encodes its coordinates, so every crop can be traced back.
    const h = 28;
    const n = 400;
    const img = Float32Array.from({ length: h * h }, (_, k) => k);
    const images = new Float32Array(n * h * h);
    for (let i = 0; i < n; i++) images.set(img, i * h * h);
    const { centres, neighbours, labels, corners, grid } = relativeLocationPairs(images, n, h, h, 1, defaults, new Rng(1));
    const p = grid.patch;
    const shifts = new Set<number>();
    for (let i = 0; i < n; i++) {
      const [cy, cx, ny, nx] = corners.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
      const [dy, dx] = NEIGHBOUR_OFFSETS[labels[i]!]!;
      // Centre patch within jitter of the centre cell.
      shifts.add(cy - (grid.origin[0] + p + grid.gap));
      expect(Math.abs(cy - (grid.origin[0] + p + grid.gap))).toBeLessThanOrEqual(grid.jitter);
      // Direction: one cell (patch + gap) away in the labelled direction, up to both patches' jitter.
      expect(Math.abs(ny - cy - dy * (p + grid.gap))).toBeLessThanOrEqual(2 * grid.jitter);
      expect(Math.abs(nx - cx - dx * (p + grid.gap))).toBeLessThanOrEqual(2 * grid.jitter);
      // Gap: along each axis where they differ, patches are separated by at least 1 px.
      if (dy !== 0) expect(Math.abs(ny - cy) - p).toBeGreaterThanOrEqual(1);
      if (dx !== 0) expect(Math.abs(nx - cx) - p).toBeGreaterThanOrEqual(1);
      // Exact crops: the top-left and bottom-right pixels carry their coordinates.
      expect(centres[i * p * p]).toBe(cy * h + cx);
      expect(neighbours[i * p * p + p * p - 1]).toBe((ny + p - 1) * h + nx + p - 1);
    }
    // Jitter really moves patches: all of -1, 0, +1 occur.
    expect([...shifts].sort()).toEqual([-1, 0, 1]);
  });

  it('is registered in the context family with the paper defaults', () => {
    const r = createRegistry().use(contextTasks);
    expect(r.get('relative-location').family).toBe('context');
    expect(r.parseConfig('relative-location', {})).toEqual({ gap: 0.5, jitter: 7 / 96, hidden: 512, resize: false });
  });
});

describe('relative-location: training', () => {
  it('trains a siamese convnet on patches without leaking tensors', async () => {
    const rng = new Rng(5);
    const images = Float32Array.from({ length: 64 * 28 * 28 }, () => rng.float());
    const source = {
      modality: 'image' as const,
      size: 64,
      batch: (idx: Int32Array) => ({
        modality: 'image' as const,
        images: images.slice(0, idx.length * 28 * 28),
        n: idx.length,
        height: 28,
        width: 28,
        channels: 1,
        indices: idx,
      }),
    };
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [8, 16], seed: 1 });
    const run = (steps: number) =>
      train({ task: relativeLocationTask, taskConfig: { hidden: 16 }, encoder, source, config: { epochs: 1, batchSize: 16, seed: 1 }, stopAfterSteps: steps });
    const dispose = (r: Awaited<ReturnType<typeof run>>) => tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
    // One warm-up run creates tfjs' lazily built kernels and caches.
    dispose(await run(1));
    const before = tf.memory().numTensors;
    const r = await run(4);
    dispose(r);
    expect(r.steps).toBe(4);
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    encoder.dispose();
  });
});
