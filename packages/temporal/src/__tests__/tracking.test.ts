import * as tf from '@tensorflow/tfjs';
import { Rng, train, type SequenceBatch } from '@ssl/core';
import { createMovingMnist, loadMnist, sequenceDatasetFromArray } from '@ssl/data';
import { createEncoder } from '@ssl/encoders';
import { describe, expect, it } from 'vitest';
import {
  cropPatch,
  findMovingPatches,
  hardNegativeTripletLoss,
  ncc,
  padPatchToFrame,
  sampleTrackedPairs,
  trackPatch,
  trackingConfig,
  trackingTask,
  type FrameView,
} from '../tracking';

/** A `side`² frame with a bright `sq`² square (a cross-shaped texture inside) at (y, x). */
function squareFrame(side: number, sq: number, y: number, x: number): FrameView {
  const data = new Float32Array(side * side);
  for (let dy = 0; dy < sq; dy++) for (let dx = 0; dx < sq; dx++) data[(y + dy) * side + x + dx] = dy === sq >> 1 || dx === sq >> 1 ? 1 : 0.5;
  return { data, height: side, width: side, channels: 1 };
}

describe('hard-negative triplet ranking loss', () => {
  it('matches a hand computation (cosine distance, margin, top-K of the allowed negatives)', () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const p = tf.tensor2d([
      [2, 0],
      [1, 1],
    ]); // norms do not matter: D = 1 − cosine
    const n = tf.tensor2d([
      [1, 0],
      [0, 1],
      [-1, 0],
      [0.6, 0.8],
    ]);
    // D(a0, p0) = 0, D(a1, p1) = 1 − 1/√2. D(a0, n) = [0, 1, 2, 0.4], D(a1, n) = [1, 0, 1, 0.2].
    // Margin 0.5: row 0 losses [0.5, 0, 0, 0.1]; row 1 [0, 1.5 − 1/√2, 0, 1.3 − 1/√2].
    // Negative 0 is not allowed for anchor 0, negative 1 not for anchor 1.
    const allowed = Uint8Array.of(0, 1, 1, 1, 1, 0, 1, 1);
    const r1 = 1.3 - Math.SQRT1_2;
    // K = 1: the hardest allowed ones, 0.1 and r1.
    expect(hardNegativeTripletLoss(a, p, n, allowed, 1, 0.5).arraySync()).toBeCloseTo((0.1 + r1) / 2, 6);
    // K = 2: two per row, the second of each is 0.
    expect(hardNegativeTripletLoss(a, p, n, allowed, 2, 0.5).arraySync()).toBeCloseTo((0.1 + r1) / 4, 6);
    // K larger than the allowed set: all 3 allowed per row.
    expect(hardNegativeTripletLoss(a, p, n, allowed, 10, 0.5).arraySync()).toBeCloseTo((0.1 + r1) / 6, 6);
    // Without the mask, anchor 0's hardest is negative 0 (loss 0.5).
    expect(hardNegativeTripletLoss(a, p, n, new Uint8Array(8).fill(1), 1, 0.5).arraySync()).toBeCloseTo((0.5 + 1.5 - Math.SQRT1_2) / 2, 6);
    tf.dispose([a, p, n]);
  });

  it('rejects mismatched shapes and an empty negative set', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => hardNegativeTripletLoss(a, a, a, new Uint8Array(3), 1)).toThrow(/allowed has 3 entries/);
    expect(() => hardNegativeTripletLoss(a.add(1), a.add(1), a.add(1), new Uint8Array(4), 1)).toThrow(/at least two sequences/);
    a.dispose();
  });
});

describe('moving patches and the tracker', () => {
  it('frame differencing finds the moving square, and NCC is 1 on it and −1 on its negative', () => {
    const f0 = squareFrame(40, 12, 5, 20);
    const f1 = squareFrame(40, 12, 7, 22);
    const [p] = findMovingPatches(f0, f1, 12, 1);
    expect(p).toEqual({ y: 5, x: 20 });
    const t = cropPatch(f0, 5, 20, 12);
    expect(ncc(f1, 7, 22, t, 12)).toBeCloseTo(1, 6);
    expect(
      ncc(
        f1,
        7,
        22,
        t.map((v) => -v),
        12,
      ),
    ).toBeCloseTo(-1, 6);
    expect(ncc(f1, 9, 24, t, 12)).toBeLessThan(0.9);
    expect(trackPatch([f0, f1, squareFrame(40, 12, 9, 24)], p!, 12, 3)).toEqual([
      { y: 5, x: 20 },
      { y: 7, x: 22 },
      { y: 9, x: 24 },
    ]);
  });

  it("on Moving MNIST, tracked patches follow a digit's true trajectory (ground truth read only to score)", () => {
    const mm = createMovingMnist(loadMnist('test', { limit: 200 }), { size: 40, seed: 5 });
    const trackErr: number[] = [];
    const staticErr: number[] = [];
    const startErr: number[] = [];
    for (let s = 0; s < mm.size; s++) {
      const b = mm.batch(Int32Array.of(s), new Rng(0));
      const frames: FrameView[] = Array.from({ length: mm.length }, (_, f) => ({
        data: b.frames.subarray(f * mm.frameSize, (f + 1) * mm.frameSize),
        height: 64,
        width: 64,
        channels: 1,
      }));
      // The tracker gets pixels only; the generator's recorded positions are used afterwards to score it.
      const tracks = findMovingPatches(frames[0]!, frames[1]!, 28, 2).map((p) => trackPatch(frames, p, 28, 6));
      const truth = mm.trajectory(s).positions;
      const gy = (f: number, d: number) => truth[(f * 2 + d) * 2]!;
      const gx = (f: number, d: number) => truth[(f * 2 + d) * 2 + 1]!;
      for (const track of tracks) {
        const p = track[0]!;
        // Worst deviation over the 20 frames from the displacement of the best-matching digit.
        const dev = (d: number, q: (f: number) => { y: number; x: number }) =>
          Math.max(...track.map((_, f) => Math.hypot(q(f).y - p.y - gy(f, d) + gy(0, d), q(f).x - p.x - gx(f, d) + gx(0, d))));
        trackErr.push(
          Math.min(
            dev(0, (f) => track[f]!),
            dev(1, (f) => track[f]!),
          ),
        );
        staticErr.push(
          Math.min(
            dev(0, () => p),
            dev(1, () => p),
          ),
        );
        startErr.push(Math.min(Math.hypot(p.y - gy(0, 0), p.x - gx(0, 0)), Math.hypot(p.y - gy(0, 1), p.x - gx(0, 1))));
      }
    }
    const mean = (v: number[]) => v.reduce((a, c) => a + c, 0) / v.length;
    const within = (v: number[], px: number) => v.filter((e) => e <= px).length / v.length;
    // Measured: mean worst-frame error ≈ 3.7 px (79% within 8 px); a patch standing still ≈ 26 px; patches start ≈ 4.2 px from a digit's box.
    expect(mean(trackErr)).toBeLessThan(5);
    expect(within(trackErr, 8)).toBeGreaterThan(0.75);
    expect(mean(staticErr)).toBeGreaterThan(20);
    expect(mean(startErr)).toBeLessThan(6);
  });
});

describe('tracking pairs and encoder inputs', () => {
  it('patches are centred at native scale in a blank frame', () => {
    const patch = Float32Array.from({ length: 4 }, (_, i) => i + 1); // 2×2
    const out = new Float32Array(6 * 6 + 1).fill(9);
    padPatchToFrame(patch, 2, 6, 6, 1, out, 1);
    expect(out[0]).toBe(9);
    expect(Array.from(out.subarray(1)).filter((v) => v !== 0)).toEqual([1, 2, 3, 4]);
    expect([out[1 + 2 * 6 + 2], out[1 + 2 * 6 + 3], out[1 + 3 * 6 + 2], out[1 + 3 * 6 + 3]]).toEqual([1, 2, 3, 4]);
  });

  it('pairs respect the gap limits and follow the moving square; time series are refused', () => {
    // 3 sequences of 12 frames (32×32): a 10×10 square moving +1 row, +2 cols per frame from a per-sequence start.
    const n = 3;
    const length = 12;
    const frames = new Float32Array(n * length * 32 * 32);
    for (let s = 0; s < n; s++)
      for (let t = 0; t < length; t++)
        frames.set(squareFrame(32, 10, s + t, s + (t * 3) / 2 > 20 ? 20 : Math.floor(s + (t * 3) / 2)).data, (s * length + t) * 1024);
    const raw: SequenceBatch = { modality: 'sequence', frames, n, length, frameShape: [32, 32, 1], indices: Int32Array.of(0, 1, 2) };
    const config = trackingConfig.parse({ patchSize: 10, patchesPerSequence: 1, minGap: 3, maxGap: 6, radius: 3 });
    const pairs = sampleTrackedPairs(raw, config, new Rng(4));
    expect(pairs).toHaveLength(3);
    for (const p of pairs) {
      expect(p.to - p.from).toBeGreaterThanOrEqual(3);
      expect(p.to - p.from).toBeLessThanOrEqual(6);
      const at = (t: number) => ({ y: p.seq + t, x: Math.min(20, Math.floor(p.seq + (t * 3) / 2)) });
      expect(p.anchor).toEqual(at(p.from));
      expect(p.positive).toEqual(at(p.to));
    }
    const series: SequenceBatch = { modality: 'sequence', frames: new Float32Array(40), n: 1, length: 20, frameShape: [2], indices: Int32Array.of(0) };
    expect(() => sampleTrackedPairs(series, config, new Rng(0))).toThrow(/video frames/);
  });

  it('trains end to end on tiny clips with a finite loss', async () => {
    const rng = new Rng(0);
    const frames = Float32Array.from({ length: 6 * 8 * 16 * 16 }, () => rng.float());
    const source = sequenceDatasetFromArray(frames, { n: 6, length: 8, frameShape: [16, 16, 1] });
    const encoder = createEncoder('mlp', { hidden: [16], outputDim: 8 }, [16, 16, 1], 0);
    const res = await train({
      task: trackingTask,
      encoder,
      source,
      taskConfig: { patchSize: 8, minGap: 2, maxGap: 4, radius: 2 },
      config: { epochs: 1, batchSize: 3, lr: 1e-3, seed: 0 },
    });
    expect(res.history.length).toBe(2);
    expect(res.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    encoder.dispose();
  });
});
