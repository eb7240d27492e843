import { Rng } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { ImageDataset } from '../dataset';
import { loadMnist } from '../mnist';
import { createMovingMnist } from '../moving-mnist';
import { loadSensorWindows, sequenceDatasetFromArray, windowSeries } from '../sequence';

/** Two 28×28 "digits": a full square of 255 (label 3) and of 128 (label 7). */
function squares(): ImageDataset {
  const pixels = new Uint8Array(2 * 784);
  pixels.fill(255, 0, 784);
  pixels.fill(128, 784);
  return new ImageDataset({ pixels, n: 2, height: 28, width: 28, channels: 1, labels: Int32Array.of(3, 7) });
}

describe('Moving MNIST', () => {
  const mnist = loadMnist('test', { limit: 50 });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = createMovingMnist(mnist, { size: 4, seed: 1 }).batch(Int32Array.of(2), new Rng(0));
    const b = createMovingMnist(mnist, { size: 4, seed: 1 }).batch(Int32Array.of(2), new Rng(99));
    const c = createMovingMnist(mnist, { size: 4, seed: 2 }).batch(Int32Array.of(2), new Rng(0));
    expect(a.frames.length).toBe(20 * 64 * 64);
    expect(a.frames).toEqual(b.frames);
    expect(a.frames).not.toEqual(c.frames);
  });

  it('moves by step·range per frame and reflects inside the canvas', () => {
    const mm = createMovingMnist(mnist, { size: 30, seed: 0, length: 40 });
    let bounces = 0;
    for (let i = 0; i < 30; i++) {
      const p = mm.trajectory(i).positions;
      for (let f = 0; f < 40; f++) {
        for (let d = 0; d < 2; d++) {
          const y = p[(f * 2 + d) * 2]!;
          const x = p[(f * 2 + d) * 2 + 1]!;
          expect(y).toBeGreaterThanOrEqual(0);
          expect(y).toBeLessThanOrEqual(36);
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(36);
          if (f >= 1 && f < 39) {
            // Speed is 0.1 × 36 = 3.6 px per frame; a sign change of a velocity component is a bounce.
            const dy1 = y - p[((f - 1) * 2 + d) * 2]!;
            const dy2 = p[((f + 1) * 2 + d) * 2]! - y;
            if (Math.sign(dy1) * Math.sign(dy2) < 0) {
              bounces++;
              expect(Math.min(y, 36 - y)).toBeLessThanOrEqual(4);
            }
          }
          if (f >= 1) {
            const dy = y - p[((f - 1) * 2 + d) * 2]!;
            const dx = x - p[((f - 1) * 2 + d) * 2 + 1]!;
            expect(Math.hypot(dy, dx)).toBeLessThanOrEqual(3.6 + 1.5);
          }
        }
      }
    }
    expect(bounces).toBeGreaterThan(0);
  });

  it('combines overlapping digits by pixel-wise max and labels frames with the digits present', () => {
    const mm = createMovingMnist(squares(), { size: 50, seed: 5, length: 5 });
    for (let i = 0; i < 50; i++) {
      const t = mm.trajectory(i);
      const b = mm.batch(Int32Array.of(i), new Rng(0));
      const f = 0;
      const cover = (d: number, y: number, x: number) => {
        const y0 = t.positions[(f * 2 + d) * 2]!;
        const x0 = t.positions[(f * 2 + d) * 2 + 1]!;
        return y >= y0 && y < y0 + 28 && x >= x0 && x < x0 + 28;
      };
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          const vals = [0, 1].filter((d) => cover(d, y, x)).map((d) => (t.sources[d] === 0 ? 1 : 128 / 255));
          expect(b.frames[y * 64 + x]).toBeCloseTo(vals.length ? Math.max(...vals) : 0, 6);
        }
      }
      expect(b.frameLabels![0]).toBe(t.labels.reduce((m, l) => m | (1 << l), 0));
    }
  });
});

describe('sequence datasets', () => {
  it('windows never cross series and label windows holding a labelled step', () => {
    const ds = windowSeries(
      [
        { values: Float32Array.from({ length: 10 }, (_, i) => i), features: 1, labels: Int32Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 1) },
        { values: Float32Array.of(100, 101, 102), features: 1, labels: Int32Array.of(0, 0, 0) },
      ],
      { window: 3, stride: 2 },
    );
    // Series 0: starts 0,2,4,6; series 1: start 0.
    expect(ds.size).toBe(5);
    const b = ds.batch(Int32Array.of(0, 3, 4), new Rng(0));
    expect(Array.from(b.frames)).toEqual([0, 1, 2, 6, 7, 8, 100, 101, 102]);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 0, 0, 0]);
    const ds2 = windowSeries([{ values: Float32Array.from({ length: 10 }, (_, i) => i), features: 1, labels: Int32Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 1) }], {
      window: 3,
      stride: 1,
    });
    expect(Array.from(ds2.labels!)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('wraps user arrays and checks their size', () => {
    const ds = sequenceDatasetFromArray(
      Float32Array.from({ length: 12 }, (_, i) => i),
      { n: 2, length: 3, frameShape: [2] },
    );
    expect(Array.from(ds.batch(Int32Array.of(1), new Rng(0)).frames)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(() => sequenceDatasetFromArray(new Float32Array(5), { n: 2, length: 3, frameShape: [2] })).toThrow(/do not match/);
  });

  it('loads the sensor windows with disjoint train/test blocks that both hold anomalies', () => {
    const train = loadSensorWindows({ split: 'train' });
    const test = loadSensorWindows({ split: 'test' });
    expect(train.frameShape).toEqual([2]);
    const pos = (d: typeof train) => d.labels!.reduce((a, b) => a + b, 0);
    expect(pos(train)).toBeGreaterThan(0);
    expect(pos(test)).toBeGreaterThan(0);
    expect(pos(train)).toBeLessThan(train.size / 10);
  });
});
