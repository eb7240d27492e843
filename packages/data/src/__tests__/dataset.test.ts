import { Rng } from '@ssl/core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ImageDataset, batchIndices, loadDataset, loadImageFolder } from '../index';

function toy(n: number) {
  const pixels = Uint8Array.from({ length: n * 4 }, (_, i) => (i * 7) % 256);
  return new ImageDataset({ pixels, n, height: 2, width: 2, channels: 1, labels: Int32Array.from({ length: n }, (_, i) => i % 3) });
}

describe('ImageDataset', () => {
  it('batches float pixels in [0,1] with aligned labels', () => {
    const ds = toy(10);
    const b = ds.batch(Int32Array.of(4, 1));
    expect(b.n).toBe(2);
    expect(b.images[0]).toBeCloseTo(((16 * 7) % 256) / 255, 6);
    expect([...b.labels!]).toEqual([1, 1]);
    expect(() => ds.batch(Int32Array.of(10))).toThrow(/out of range/);
  });

  it('split is seeded, disjoint and complete; take and subset keep labels', () => {
    const ds = toy(20);
    const a = ds.split(0.25, new Rng(1));
    const b = ds.split(0.25, new Rng(1));
    const c = ds.split(0.25, new Rng(2));
    expect(a.test.size).toBe(5);
    expect(a.train.size).toBe(15);
    expect([...a.test.pixels]).toEqual([...b.test.pixels]);
    expect([...a.test.pixels]).not.toEqual([...c.test.pixels]);
    expect(ds.take(3).size).toBe(3);
    expect([...ds.subset([5, 0]).labels!]).toEqual([2, 0]);
  });

  it('batchIndices covers the order, dropping a short last batch when asked', () => {
    const order = Int32Array.from({ length: 10 }, (_, i) => i);
    expect([...batchIndices(order, 4, true)].map((b) => b.length)).toEqual([4, 4]);
    expect([...batchIndices(order, 4, false)].map((b) => b.length)).toEqual([4, 4, 2]);
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

  it('reads root/<class>/*.jpg|png with labels by sorted class name', () => {
    const ds = loadImageFolder(root);
    expect(ds.classNames).toEqual(['ant', 'zebra']);
    expect(ds.size).toBe(4);
    expect(ds.shape).toEqual([4, 4, 3]);
    expect([...ds.labels!]).toEqual([0, 0, 1, 1]);
    const ant = ds.get(0).data;
    expect(ant[2]).toBeCloseTo(1, 2);
    expect(ant[0]).toBeCloseTo(0, 2);
    const zebraJpg = ds.get(3).data;
    expect(zebraJpg[0]).toBeGreaterThan(0.9);
  });

  it('resizes, converts to grey, limits across classes and is reachable by spec', () => {
    const ds = loadDataset(`imagefolder:${root}`, { split: 'train', limit: 2 });
    expect(ds.size).toBe(2);
    expect([...ds.labels!]).toEqual([0, 1]);
    const grey = loadImageFolder(root, { size: [2, 2], channels: 1 });
    expect(grey.shape).toEqual([2, 2, 1]);
  });

  it('a missing folder and an unknown spec name the value', () => {
    expect(() => loadImageFolder('/no/such/dir')).toThrow(/Image folder "\/no\/such\/dir" does not exist/);
    expect(() => loadDataset('cifar', { split: 'train' })).toThrow(/Unknown dataset "cifar". Must be one of \[mnist, fashion-mnist, imagefolder:PATH\]/);
  });
});
