import { Rng } from '@ssl/core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ImageDataset, batchIndices, decodeImage, loadDataset, loadImageFolder } from '../index';

// Image i has first pixel i, so rows can be traced through subsets and splits.
function toy(n: number) {
  const pixels = Uint8Array.from({ length: n * 4 }, (_, i) => (i % 4 === 0 ? i / 4 : (i * 7) % 256));
  return new ImageDataset({ pixels, n, height: 2, width: 2, channels: 1, labels: Int32Array.from({ length: n }, (_, i) => i % 3) });
}
const firstPixels = (ds: ImageDataset) => Array.from({ length: ds.size }, (_, i) => ds.pixels[i * 4]!);

describe('ImageDataset', () => {
  it('batches float pixels in [0,1] with aligned labels', () => {
    const ds = toy(10);
    const idx = Int32Array.of(4, 1, 9);
    const b = ds.batch(idx, new Rng(0));
    expect([b.n, b.height, b.width, b.channels, b.images.length]).toEqual([3, 2, 2, 1, 12]);
    expect(b.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(b.images[0]).toBeCloseTo(4 / 255, 6);
    expect(b.images[1]).toBeCloseTo(((17 * 7) % 256) / 255, 6);
    expect([...b.labels!]).toEqual([1, 1, 0]);
    expect([...b.indices]).toEqual([4, 1, 9]);
    expect(ds.get(9).data[0]).toBeCloseTo(9 / 255, 6);
    expect(ds.numClasses).toBe(3);
    expect(() => ds.batch(Int32Array.of(10))).toThrow(/out of range/);
  });

  it('split is seeded, disjoint and complete; take and subset keep labels', () => {
    const ds = toy(20);
    const a = ds.split(0.25, new Rng(1));
    const b = ds.split(0.25, new Rng(1));
    const c = ds.split(0.25, new Rng(2));
    expect([a.train.size, a.test.size]).toEqual([15, 5]);
    expect(firstPixels(a.test)).toEqual(firstPixels(b.test));
    expect(firstPixels(a.test)).not.toEqual(firstPixels(c.test));
    expect([...firstPixels(a.train), ...firstPixels(a.test)].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Labels travel with their rows.
    a.test.labels!.forEach((l, j) => expect(l).toBe(firstPixels(a.test)[j]! % 3));
    expect(ds.split(0.99, new Rng(1)).train.size).toBe(1);
    expect(() => ds.split(1, new Rng(1))).toThrow(/got 1; it must be a fraction in \(0, 1\)/);
    expect(firstPixels(ds.take(3))).toEqual([0, 1, 2]);
    expect(ds.take(100)).toBe(ds);
    expect(() => ds.take(0)).toThrow(/limit 0 is not allowed/);
    expect([...ds.subset([5, 0]).labels!]).toEqual([2, 0]);
    expect(() => ds.subset([20])).toThrow(/index 20 is out of range/);
  });

  it('rejects inconsistent construction', () => {
    expect(() => new ImageDataset({ pixels: new Uint8Array(7), n: 2, height: 2, width: 2, channels: 1 })).toThrow(/7 pixel bytes do not match 2×2×2×1 = 8/);
    expect(
      () => new ImageDataset({ pixels: new Uint8Array(8), n: 2, height: 2, width: 2, channels: 1, labels: Int32Array.of(0, 2), classNames: ['a', 'b'] }),
    ).toThrow(/label 2 is outside \[0, 1\]/);
  });

  it('batchIndices covers the order, dropping a short last batch when asked', () => {
    const order = Int32Array.from({ length: 10 }, (_, i) => i);
    expect([...batchIndices(order, 4, true)].map((b) => b.length)).toEqual([4, 4]);
    expect([...batchIndices(order, 4, false)].map((b) => [...b])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(() => [...batchIndices(order, 0, false)]).toThrow(/batch size 0 is not allowed/);
  });
});

describe('image folder loader', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssl-folder-'));
  const write = (cls: string, name: string, rgb: [number, number, number], kind: 'png' | 'jpg') => {
    mkdirSync(path.join(root, cls), { recursive: true });
    const w = 4;
    const h = 4;
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
    if (kind === 'png') {
      const png = new PNG({ width: w, height: h });
      data.copy(png.data);
      writeFileSync(path.join(root, cls, name), PNG.sync.write(png));
    } else writeFileSync(path.join(root, cls, name), jpeg.encode({ data, width: w, height: h }, 95).data);
  };
  write('zebra', 'a.png', [255, 0, 0], 'png');
  write('zebra', 'b.jpg', [250, 5, 5], 'jpg');
  write('ant', 'c.png', [0, 0, 255], 'png');
  write('ant', 'd.jpg', [0, 0, 250], 'jpg');

  it('reads root/<class>/*.jpg|png with labels by sorted class name, classes interleaved', () => {
    const ds = loadImageFolder(root);
    expect(ds.classNames).toEqual(['ant', 'zebra']);
    expect(ds.size).toBe(4);
    expect(ds.shape).toEqual([4, 4, 3]);
    // ant/c.png, zebra/a.png, ant/d.jpg, zebra/b.jpg
    expect([...ds.labels!]).toEqual([0, 1, 0, 1]);
    const antPng = ds.get(0).data;
    expect([antPng[0], antPng[1], antPng[2]]).toEqual([0, 0, 1]);
    const zebraPng = ds.get(1).data;
    expect([zebraPng[0], zebraPng[1], zebraPng[2]]).toEqual([1, 0, 0]);
    const zebraJpg = ds.get(3).data;
    expect(zebraJpg[0]).toBeGreaterThan(0.9);
    expect(zebraJpg[2]).toBeLessThan(0.1);
  });

  it('limit keeps the first N of the listing (every class), resizes, converts to grey, is reachable by spec', () => {
    const ds = loadDataset(`imagefolder:${root}`, { split: 'train', limit: 2 });
    expect(ds.size).toBe(2);
    expect([...ds.labels!]).toEqual([0, 1]);
    expect([...ds.pixels]).toEqual([...loadImageFolder(root, { split: 'train', log: () => {} }).take(2).pixels]);
    const grey = loadImageFolder(root, { size: [2, 2], channels: 1 });
    expect(grey.shape).toEqual([2, 2, 1]);
    expect(grey.pixels[0]).toBe(Math.round(0.114 * 255));
  });

  it('uses root/<split>/<class> when train/ and test/ exist, and a flat folder gives no labels', () => {
    const splitRoot = mkdtempSync(path.join(tmpdir(), 'ssl-split-'));
    const put = (dir: string, name: string, w: number, h: number) => {
      mkdirSync(dir, { recursive: true });
      const png = new PNG({ width: w, height: h });
      png.data.fill(255);
      writeFileSync(path.join(dir, name), PNG.sync.write(png));
    };
    put(path.join(splitRoot, 'train', 'cat'), '1.png', 3, 2);
    put(path.join(splitRoot, 'train', 'dog'), '1.png', 3, 2);
    put(path.join(splitRoot, 'test', 'dog'), '1.png', 3, 2);
    mkdirSync(path.join(splitRoot, 'train', '.hidden'));
    expect(loadImageFolder(splitRoot).classNames).toEqual(['cat', 'dog']);
    expect(loadImageFolder(splitRoot, { split: 'test' }).classNames).toEqual(['dog']);
    const flat = path.join(splitRoot, 'flat');
    put(flat, 'a.png', 3, 2);
    put(flat, 'b.png', 5, 5);
    expect(() => loadImageFolder(flat)).toThrow(`Image "${path.join(flat, 'b.png')}" is 5×5 but the first image is 2×3`);
    const unlabelled = loadImageFolder(flat, { size: [2, 3] });
    expect(unlabelled.size).toBe(2);
    expect(unlabelled.labels).toBeUndefined();
    expect(unlabelled.numClasses).toBeUndefined();
    expect(() => loadImageFolder(flat, { split: 'test' })).toThrow(/is a flat folder of unlabelled images, so it has no test split/);
  });

  it('a missing folder names the path', () => {
    expect(() => loadImageFolder('/no/such/dir')).toThrow(/Image folder "\/no\/such\/dir" does not exist/);
    expect(() => decodeImage(Buffer.from('not an image'), 'x.jpg')).toThrow(/Cannot decode image "x.jpg"/);
  });
});
