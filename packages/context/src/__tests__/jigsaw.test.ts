import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { contextTasks, hammingPermutations, jigsawConfig, jigsawPermutationSet, jigsawPuzzles, jigsawTask, permutationStats, tileGrid } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('jigsaw: permutation set', () => {
  it('is a deterministic function of (P, seed) with P distinct permutations of 9 tiles', () => {
    for (const p of [64, 100]) {
      const a = jigsawPermutationSet(p, 0).permutations.map((x) => x.join());
      // The memoised set equals two fresh greedy runs with the same (P, seed); another seed differs.
      expect(hammingPermutations(p, 9, 0).map((x) => x.join())).toEqual(a);
      expect(hammingPermutations(p, 9, 0).map((x) => x.join())).toEqual(a);
      const other = jigsawPermutationSet(p, 1).permutations.map((x) => x.join());
      expect(a).not.toEqual(other);
      expect(new Set(a).size).toBe(p);
      for (const perm of jigsawPermutationSet(p, 0).permutations) expect([...perm].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('reports its Hamming statistics (P=64: min 6, mean 8.08; P=100: min 6, mean 8.06), far above random permutations', () => {
    const s64 = jigsawPermutationSet(64, 0);
    const s100 = jigsawPermutationSet(100, 0);
    expect(s64.minHamming).toBe(6);
    expect(s64.meanHamming).toBeCloseTo(8.0823, 3);
    expect(s100.minHamming).toBe(6);
    expect(s100.meanHamming).toBeCloseTo(8.0606, 3);
    expect({ min: s64.minHamming, mean: s64.meanHamming }).toEqual(permutationStats(s64.permutations));
    const rng = new Rng(0);
    const random = permutationStats(Array.from({ length: 64 }, () => rng.permutation(9)));
    expect(s64.minHamming).toBeGreaterThan(random.min);
  });
});

describe('jigsaw: data construction', () => {
  it('cuts 28×28 and 32×32 images into 9-px and 10-px cells with 8-px and 9-px tiles', () => {
    expect(tileGrid(28, 28, 64 / 75)).toEqual({ cell: 9, tile: 8, origin: [0, 0] });
    expect(tileGrid(32, 32, 64 / 75)).toEqual({ cell: 10, tile: 9, origin: [1, 1] });
  });

  it('slot j of each puzzle holds a tile cropped inside cell perm[j] of the labelled permutation', () => {
    // Each cell of the image is filled with its own index, so a tile shows which cell it came from.
    const h = 28;
    const n = 50;
    const img = Float32Array.from({ length: h * h }, (_, k) => Math.min(2, Math.floor(Math.floor(k / h) / 9)) * 3 + Math.min(2, Math.floor((k % h) / 9)));
    const images = new Float32Array(n * h * h);
    for (let i = 0; i < n; i++) images.set(img, i * h * h);
    const { permutations } = jigsawPermutationSet(64, 0);
    const { tiles, labels, grid } = jigsawPuzzles(images, n, h, h, 1, permutations, 64 / 75, false, new Rng(2));
    const size = grid.tile * grid.tile;
    let identity = 0;
    for (let i = 0; i < n; i++) {
      const perm = permutations[labels[i]!]!;
      if (perm.every((v, j) => v === j)) identity++;
      for (let slot = 0; slot < 9; slot++) {
        const tile = tiles.subarray((9 * i + slot) * size, (9 * i + slot + 1) * size);
        // Every pixel of the tile comes from cell perm[slot] (the crop stays inside its cell).
        expect(new Set(tile)).toEqual(new Set([perm[slot]]));
      }
    }
    // The tiles really are shuffled: at most a rare identity permutation.
    expect(identity).toBeLessThan(n / 10);
    expect(new Set(labels).size).toBeGreaterThan(20);
  });

  it('crops tiles at random places inside their cells and normalises each tile on its own', () => {
    const h = 28;
    const img = Float32Array.from({ length: h * h }, (_, k) => k / (h * h));
    const { permutations } = jigsawPermutationSet(64, 0);
    const a = jigsawPuzzles(img, 1, h, h, 1, permutations, 64 / 75, false, new Rng(1));
    const starts = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const r = jigsawPuzzles(img, 1, h, h, 1, [Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8)], 64 / 75, false, new Rng(seed));
      starts.add(Math.round(r.tiles[0]! * h * h)); // top-left pixel of cell 0's tile: y0 * 28 + x0
    }
    expect(starts.size).toBe(4); // y0, x0 ∈ {0, 1}
    const b = jigsawPuzzles(img, 1, h, h, 1, permutations, 64 / 75, true, new Rng(1));
    const size = a.grid.tile ** 2;
    for (let slot = 0; slot < 9; slot++) {
      const t = b.tiles.subarray(slot * size, (slot + 1) * size);
      const mean = t.reduce((s, v) => s + v, 0) / size;
      const variance = t.reduce((s, v) => s + (v - mean) ** 2, 0) / size;
      expect(mean).toBeCloseTo(0, 5);
      expect(variance).toBeCloseTo(1, 2);
    }
  });

  it('is registered with P=64 by default and P ≥ 100 configurable', () => {
    const r = createRegistry().use(contextTasks);
    expect(r.get('jigsaw').family).toBe('context');
    expect(r.parseConfig('jigsaw', {})).toEqual(jigsawConfig.parse({ permutations: 64 }));
    expect(jigsawConfig.parse({ permutations: 100 }).permutations).toBe(100);
    expect(() => jigsawConfig.parse({ permutations: 1 })).toThrow();
  });
});

describe('jigsaw: training', () => {
  it('a few steps with P=100 run, give finite losses near ln P at the start, and leak no tensors', async () => {
    const rng = new Rng(4);
    const images = Float32Array.from({ length: 32 * 28 * 28 }, () => rng.float());
    const source = {
      modality: 'image' as const,
      size: 32,
      batch: (idx: Int32Array) => ({
        modality: 'image' as const,
        images: images.slice(0, idx.length * 784),
        n: idx.length,
        height: 28,
        width: 28,
        channels: 1,
        indices: idx,
      }),
    };
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [8, 16], seed: 1 });
    const run = () => train({ task: jigsawTask, taskConfig: { permutations: 100, hidden: 16 }, encoder, source, config: { epochs: 1, batchSize: 8, seed: 1 } });
    const dispose = (r: Awaited<ReturnType<typeof run>>) => tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
    dispose(await run());
    const before = tf.memory().numTensors;
    const r = await run();
    dispose(r);
    expect(r.steps).toBe(4);
    expect(Math.abs(r.history[0]!.loss - Math.log(100))).toBeLessThan(1);
    expect(tf.memory().numTensors).toBe(before);
    encoder.dispose();
  });
});
