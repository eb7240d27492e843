import * as tf from '@tensorflow/tfjs';
import { Rng, train, type SequenceBatch } from '@ssl/core';
import { createEncoder } from '@ssl/encoders';
import { sequenceDatasetFromArray } from '@ssl/data';
import { describe, expect, it } from 'vitest';
import { candidateInfoNce, tripletLoss } from '../losses';
import { cropTuples, gridTower, highMotionWindow, sampleOrderTuples, shuffleLearnTask, spatialTrunk } from '../shuffle-learn';
import { sampleTcnTriplets, secondView, tcnTask } from '../tcn';

describe('temporal losses', () => {
  it('triplet loss matches a hand computation', () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const p = tf.tensor2d([
      [0.8, 0.6],
      [0, 1],
    ]);
    const n = tf.tensor2d([
      [0, 1],
      [0.6, 0.8],
    ]);
    // Row 0: ‖a−p‖² = 0.04 + 0.36 = 0.4, ‖a−n‖² = 2; row 1: ‖a−p‖² = 0, ‖a−n‖² = 0.36 + 0.04 = 0.4.
    // Margin 0.2: max(0, 0.4 − 2 + 0.2) = 0 and max(0, 0 − 0.4 + 0.2) = 0 → 0.
    // Margin 1: max(0, −0.6) = 0 and max(0, 0.6) = 0.6 → mean 0.3.
    expect(tripletLoss(a, p, n, 0.2).arraySync()).toBeCloseTo(0, 6);
    expect(tripletLoss(a, p, n, 1).arraySync()).toBeCloseTo(0.3, 6);
  });

  it('candidate InfoNCE matches a hand computation', () => {
    const a = tf.tensor2d([[1, 0]]);
    const c = tf.tensor2d([
      [1, 0],
      [0, 1],
      [-1, 0],
    ]);
    // logits 10, 0, −10 at τ = 0.1; target 0.
    const want = -(10 - Math.log(Math.exp(10) + 1 + Math.exp(-10)));
    expect(candidateInfoNce(a, c, Int32Array.of(0), 0.1).arraySync()).toBeCloseTo(want, 5);
    expect(candidateInfoNce(a, c, Int32Array.of(1), 0.1).arraySync()).toBeCloseTo(10 + Math.log(Math.exp(10) + 1 + Math.exp(-10)) - 10, 4);
  });
});

describe('TCN data', () => {
  it('positives are within the window and negatives beyond the margin', () => {
    const ts = sampleTcnTriplets(50, 20, 2, 5, 4, new Rng(1));
    expect(ts).toHaveLength(200);
    for (const t of ts) {
      const dp = Math.abs(t.positive - t.anchor);
      expect(dp).toBeGreaterThanOrEqual(1);
      expect(dp).toBeLessThanOrEqual(2);
      expect(Math.abs(t.negative - t.anchor)).toBeGreaterThanOrEqual(5);
      for (const v of [t.anchor, t.positive, t.negative]) expect(v >= 0 && v < 20).toBe(true);
    }
    const multi = sampleTcnTriplets(5, 20, 0, 5, 2, new Rng(1));
    for (const t of multi) expect(t.positive).toBe(t.anchor);
  });

  it('the second view is a shifted, blurred copy', () => {
    const img = new Float32Array(5 * 5);
    img[0] = 9; // top-left pixel
    const v = secondView(img, [5, 5, 1], 1);
    // Shifted to (1, 1); the 3×3 box blur spreads 9/9 = 1 over (0..2, 0..2).
    expect(v[0]).toBeCloseTo(1);
    expect(v[2 * 5 + 2]).toBeCloseTo(1);
    expect(v[3 * 5 + 3]).toBeCloseTo(0);
  });
});

function rampBatch(n: number, length: number): SequenceBatch {
  // Frame t of sequence s is a 4×4 image filled with (s + t²)/1000: motion grows with t.
  const frames = new Float32Array(n * length * 16);
  for (let s = 0; s < n; s++) for (let t = 0; t < length; t++) frames.fill((s + t * t) / 1000, (s * length + t) * 16, (s * length + t + 1) * 16);
  return { modality: 'sequence', frames, n, length, frameShape: [4, 4, 1], indices: Int32Array.from({ length: n }, (_, i) => i) };
}

describe('Shuffle and Learn data', () => {
  it('ordered tuples are increasing, shuffled ones are not monotone, and labels are balanced', () => {
    const tuples = sampleOrderTuples(rampBatch(40, 20), 1, 2, 4, new Rng(3));
    expect(tuples).toHaveLength(80);
    expect(tuples.filter((t) => t.label === 1)).toHaveLength(40);
    for (const {
      times: [x, y, z],
      label,
    } of tuples) {
      const monotone = (x < y && y < z) || (x > y && y > z);
      expect(monotone).toBe(label === 1);
      if (label === 1) expect(y - x >= 2 && z - y >= 2).toBe(true);
    }
  });

  it('picks the highest-motion window among the candidates', () => {
    // Frames change only from t = 24 on: a window moves iff e > 24; the best of 64 candidates always does.
    const n = 20;
    const length = 30;
    const frames = new Float32Array(n * length * 16);
    for (let s = 0; s < n; s++) for (let t = 24; t < length; t++) frames.fill(t % 2, (s * length + t) * 16, (s * length + t + 1) * 16);
    const raw: SequenceBatch = { modality: 'sequence', frames, n, length, frameShape: [4, 4, 1], indices: new Int32Array(n) };
    const rng = new Rng(2);
    let singleMisses = 0;
    for (let s = 0; s < n; s++) {
      const best = highMotionWindow(raw, s, 1, 1, 25, 64, rng);
      expect(best[4]).toBeGreaterThan(24);
      expect(best.every((t, i) => i === 0 || t - best[i - 1]! >= 1)).toBe(true);
      if (highMotionWindow(raw, s, 1, 1, 25, 1, rng)[4]! <= 24) singleMisses++;
    }
    expect(singleMisses).toBeGreaterThan(0);
  });
});

describe('Shuffle and Learn crops', () => {
  it("cut the same window, placed on frame b's moving object, from the three frames of a tuple", () => {
    // One 16×16 sequence of 8 frames: a 4×4 square whose pixel value is 1 + t moves one column right per frame.
    const length = 8;
    const frames = new Float32Array(length * 256);
    for (let t = 0; t < length; t++) for (let y = 6; y < 10; y++) for (let x = 2 + t; x < 6 + t; x++) frames[t * 256 + y * 16 + x] = 1 + t;
    const raw: SequenceBatch = { modality: 'sequence', frames, n: 1, length, frameShape: [16, 16, 1], indices: Int32Array.of(0) };
    const tuples = [
      { seq: 0, times: [2, 3, 4] as [number, number, number], label: 1 as const },
      { seq: 0, times: [2, 1, 4] as [number, number, number], label: 0 as const },
    ];
    const x = cropTuples(raw, tuples, 4);
    expect(x.shape).toEqual([6, 16, 16, 1]);
    const v = x.arraySync() as number[][][][];
    // The window is frame 2's square (rows 6..9, cols 4..7), pasted at rows/cols 6..9 of a blank frame.
    const row = (k: number) => [6, 7, 8, 9].map((c) => v[k]![7]![c]![0]);
    expect(row(0)).toEqual([3, 3, 3, 3]); // frame 2 fills the window
    expect(row(1)).toEqual([0, 4, 4, 4]); // frame 3: the square has moved one column right
    expect(row(2)).toEqual([0, 0, 5, 5]); // frame 4: two columns right
    expect(row(3)).toEqual(row(0)); // the out-of-order tuple sees the same window (it starts with the same b)
    expect(row(4)).toEqual([2, 2, 2, 0]); // frame 1
    expect(v[0]![0]![0]![0]).toBe(0);
    expect(() => cropTuples(raw, tuples, 17)).toThrow(/crop 17/);
    x.dispose();
  });
});

describe('temporal tasks train', () => {
  it('tcn and shuffle-learn train end to end on tiny sequences with a finite loss', async () => {
    const rng = new Rng(0);
    const frames = Float32Array.from({ length: 8 * 10 * 8 * 8 }, () => rng.float());
    const source = sequenceDatasetFromArray(frames, { n: 8, length: 10, frameShape: [8, 8, 1] });
    const runs = [
      (encoder: tf.LayersModel) => train({ task: tcnTask, encoder, source, config: { epochs: 1, batchSize: 4, lr: 1e-3, seed: 0 } }),
      (encoder: tf.LayersModel) =>
        train({ task: shuffleLearnTask, encoder, source, taskConfig: { crop: 4 }, config: { epochs: 1, batchSize: 4, lr: 1e-3, seed: 0 } }),
    ];
    for (const run of runs) {
      const encoder = createEncoder('mlp', { hidden: [16], outputDim: 8 }, [8, 8, 1], 0);
      const res = await run(encoder);
      expect(Number.isFinite(res.history.at(-1)?.loss ?? NaN)).toBe(true);
      encoder.dispose();
    }
  });
});

describe('shuffle-learn reads where things are (grid tower on the encoder feature map)', () => {
  // A 4×4 bright square on a blank 24×24 frame at row/col (y, x).
  const square = (y: number, x: number) => {
    const a = new Float32Array(24 * 24);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) a[(y + i) * 24 + x + j] = 1;
    return a;
  };

  it('the trunk is the encoder up to its last feature map; mlp encoders have none', () => {
    const conv = createEncoder('convnet', { widths: [4, 8] }, [24, 24, 1], 0);
    const trunk = spatialTrunk(conv)!;
    expect(trunk.outputs[0]!.shape).toEqual([null, 12, 12, 8]);
    // Shares the encoder's weights (no copies).
    expect(trunk.trainableWeights.map((w) => w.read().id)).toEqual(conv.trainableWeights.map((w) => w.read().id));
    expect(spatialTrunk(createEncoder('mlp', { hidden: [8], outputDim: 4 }, [24, 24, 1], 0))).toBeUndefined();
    // A grid finer than the map keeps every position (no pooling): [12,12,8] → 1152 inputs to fc.
    expect(gridTower([12, 12, 8], 16, 5, 0).layers[2]!.getWeights()[0]!.shape).toEqual([12 * 12 * 8, 5]);
    expect(gridTower([12, 12, 8], 4, 5, 0).layers[2]!.getWeights()[0]!.shape).toEqual([4 * 4 * 8, 5]);
    expect(() => gridTower([12, 12, 8], 0, 5, 0)).toThrow(/grid 0 must be an integer ≥ 1/);
  });

  it('moving an object leaves the globally pooled features unchanged but changes what the order classifier sees', () => {
    const conv = createEncoder('convnet', { widths: [4, 8] }, [24, 24, 1], 1);
    const tower = gridTower([12, 12, 8], 2, 16, 0);
    const x = tf.tensor4d(Float32Array.of(...square(4, 4), ...square(16, 16)), [2, 24, 24, 1]);
    const pooled = (conv.predict(x) as tf.Tensor2D).arraySync();
    const seen = (tower.predict(spatialTrunk(conv)!.predict(x) as tf.Tensor) as tf.Tensor2D).arraySync();
    const gap = (u: number[], v: number[]) => Math.max(...u.map((a, i) => Math.abs(a - v[i]!)));
    expect(gap(pooled[0]!, pooled[1]!)).toBeLessThan(1e-5);
    expect(gap(seen[0]!, seen[1]!)).toBeGreaterThan(1e-2);
    x.dispose();
  });

  it('with a convnet, training uses the grid tower and updates the encoder through its feature map', async () => {
    const rng = new Rng(0);
    const frames = Float32Array.from({ length: 8 * 10 * 16 * 16 }, () => rng.float());
    const source = sequenceDatasetFromArray(frames, { n: 8, length: 10, frameShape: [16, 16, 1] });
    const encoder = createEncoder('convnet', { widths: [4, 8] }, [16, 16, 1], 0);
    const before = encoder.getWeights()[0]!.dataSync().slice();
    const res = await train({
      task: shuffleLearnTask,
      encoder,
      source,
      taskConfig: { grid: 2, fc: 6, hidden: 4 },
      config: { epochs: 1, batchSize: 4, lr: 1e-2, seed: 0 },
    });
    expect(Object.keys(res.heads).sort()).toEqual(['classifier', 'frame']);
    expect(res.heads.frame!.outputs[0]!.shape).toEqual([null, 6]);
    expect(res.heads.classifier!.inputs[0]!.shape).toEqual([null, 3 * 6]);
    expect(Number.isFinite(res.history.at(-1)?.loss ?? NaN)).toBe(true);
    expect(Array.from(encoder.getWeights()[0]!.dataSync())).not.toEqual(Array.from(before));
    // grid 0: the classifier reads the encoder's pooled 8-d features, as before.
    const plain = await train({
      task: shuffleLearnTask,
      encoder,
      source,
      taskConfig: { grid: 0, hidden: 4 },
      config: { epochs: 1, batchSize: 4, lr: 1e-3, seed: 0 },
    });
    expect(Object.keys(plain.heads)).toEqual(['classifier']);
    expect(plain.heads.classifier!.inputs[0]!.shape).toEqual([null, 3 * 8]);
    encoder.dispose();
  });
});
