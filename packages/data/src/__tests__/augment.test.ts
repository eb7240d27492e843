import { Rng } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import {
  augmentBatch,
  colorJitter,
  compose,
  cutout,
  gaussianBlur,
  gaussianNoise,
  grayscale,
  horizontalFlip,
  randomResizedCrop,
  randomRotate90,
  rotate90,
  type Image,
} from '../index';

function ramp(h: number, w: number, c: number): Image {
  return { data: Float32Array.from({ length: h * w * c }, (_, i) => i / (h * w * c)), height: h, width: w, channels: c };
}

describe('augmentations', () => {
  it('rotate90 is exact: four turns are the identity; one turn on a 2×3 image moves pixels as expected', () => {
    const img = ramp(2, 3, 1);
    let r = img;
    for (let i = 0; i < 4; i++) r = rotate90(1)(r);
    expect([...r.data]).toEqual([...img.data]);
    const one = rotate90(1)(img);
    expect([one.height, one.width]).toEqual([3, 2]);
    // Counter-clockwise: the top-right pixel (0,2) becomes the top-left (0,0).
    expect(one.data[0]).toBe(img.data[2]);
    // The top-left pixel (0,0) ends at the bottom-left (2,0).
    expect(one.data[2 * 2]).toBe(img.data[0]);
  });

  it('flip twice is the identity; p=0 never flips', () => {
    const img = ramp(3, 4, 2);
    const f = horizontalFlip({ p: 1 });
    expect([...f(f(img, new Rng(1)), new Rng(2)).data]).toEqual([...img.data]);
    expect([...horizontalFlip({ p: 0 })(img, new Rng(1)).data]).toEqual([...img.data]);
    expect(f(img, new Rng(1)).data[0]).toBe(img.data[3 * 2]);
  });

  it('randomResizedCrop is seeded: same seed same output, different seed different', () => {
    const img = ramp(16, 16, 1);
    const crop = randomResizedCrop({ scale: [0.2, 0.5], size: [8, 8] });
    const a = crop(img, new Rng(5));
    expect([a.height, a.width]).toEqual([8, 8]);
    expect([...crop(img, new Rng(5)).data]).toEqual([...a.data]);
    expect([...crop(img, new Rng(6)).data]).not.toEqual([...a.data]);
  });

  it('noise stays in [0,1]; grayscale equalises channels; blur preserves a constant image; jitter changes colour', () => {
    const img = ramp(8, 8, 3);
    const noisy = gaussianNoise({ std: 2 })(img, new Rng(1));
    expect(Math.min(...noisy.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...noisy.data)).toBeLessThanOrEqual(1);
    const g = grayscale({ p: 1 })(img, new Rng(1));
    for (let i = 0; i < g.data.length; i += 3) expect(g.data[i]).toBe(g.data[i + 2]);
    const ones: Image = { data: new Float32Array(64).fill(1), height: 8, width: 8, channels: 1 };
    const blurred = gaussianBlur({ p: 1 })(ones, new Rng(1));
    blurred.data.forEach((v) => expect(v).toBeCloseTo(1, 5));
    const jit = colorJitter({ p: 1 })(img, new Rng(4));
    expect(jit.data.some((v, i) => Math.abs(v - img.data[i]!) > 1e-3)).toBe(true);
  });

  it('cutout zeroes exactly one axis-aligned square (clipped at borders), the rest untouched', () => {
    const ones: Image = { data: new Float32Array(10 * 12 * 2).fill(1), height: 10, width: 12, channels: 2 };
    let fullSquares = 0;
    for (let seed = 0; seed < 20; seed++) {
      const out = cutout({ size: 3 })(ones, new Rng(seed));
      const zero: Array<[number, number]> = [];
      for (let y = 0; y < 10; y++) for (let x = 0; x < 12; x++) if (out.data[(y * 12 + x) * 2] === 0) zero.push([y, x]);
      const ys = zero.map((z) => z[0]);
      const xs = zero.map((z) => z[1]);
      const h = Math.max(...ys) - Math.min(...ys) + 1;
      const w = Math.max(...xs) - Math.min(...xs) + 1;
      expect(zero.length).toBe(h * w); // a filled rectangle
      expect(h).toBeLessThanOrEqual(3);
      expect(w).toBeLessThanOrEqual(3);
      if (h === 3 && w === 3) fullSquares++;
      expect([...out.data].filter((v) => v === 0).length).toBe(2 * zero.length); // every channel
      expect([...out.data].filter((v) => v === 1).length).toBe(240 - 2 * zero.length);
    }
    expect(fullSquares).toBeGreaterThan(10);
    expect(ones.data.every((v) => v === 1)).toBe(true); // input untouched
  });

  it('grey images get brightness/contrast jitter and stay one-channel; randomRotate90 is seeded', () => {
    const grey = ramp(4, 6, 1);
    const j = colorJitter({ p: 1, brightness: 0.5, contrast: 0.5 })(grey, new Rng(2));
    expect(j.channels).toBe(1);
    expect(j.data.length).toBe(24);
    expect(j.data.some((v, i) => Math.abs(v - grey.data[i]!) > 1e-3)).toBe(true);
    const shapes = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const r = randomRotate90()(grey, new Rng(seed));
      expect([...randomRotate90()(grey, new Rng(seed)).data]).toEqual([...r.data]);
      shapes.add(`${r.height}x${r.width}`);
    }
    expect(shapes).toEqual(new Set(['4x6', '6x4']));
    expect(() => rotate90(1.5)).toThrow(/k 1.5 is not allowed/);
  });

  it('augmentBatch applies a composed pipeline per image, deterministically', () => {
    const per = 4 * 4;
    const batch = {
      modality: 'image' as const,
      images: Float32Array.from({ length: 2 * per }, (_, i) => (i % per) / per),
      n: 2,
      height: 4,
      width: 4,
      channels: 1,
      indices: Int32Array.of(0, 1),
    };
    const view = compose(randomResizedCrop({ size: [4, 4] }), horizontalFlip());
    const a = augmentBatch(batch, view, new Rng(9));
    expect([...augmentBatch(batch, view, new Rng(9)).images]).toEqual([...a.images]);
    // Identical inputs get different crops: each image has its own stream.
    expect([...a.images.subarray(0, per)]).not.toEqual([...a.images.subarray(per)]);
    // Two calls on one generator give two different views (the generator advances).
    const rng = new Rng(9);
    expect([...augmentBatch(batch, view, rng).images]).not.toEqual([...augmentBatch(batch, view, rng).images]);
    const small = augmentBatch(batch, randomResizedCrop({ size: [2, 3] }), new Rng(1));
    expect([small.n, small.height, small.width, small.channels, small.images.length]).toEqual([2, 2, 3, 1, 12]);
    expect([...small.indices]).toEqual([0, 1]);
  });
});
