import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train, type ImageBatch } from '@ssl/core';
import { ImageDataset, rgbToLab } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abBins,
  cellCrossEntropy,
  colorizationBatch,
  colorizationLoss,
  colorizationPictures,
  colorizationTask,
  contextTasks,
  featureMapModel,
  lightnessView,
  quantiseAb,
  quantiseAbTensor,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

/** n random RGB images (seeded), h×w, with labels 0. */
function colourImages(n: number, h: number, w: number, seed: number): ImageDataset {
  const rng = new Rng(seed);
  return new ImageDataset({ pixels: Uint8Array.from({ length: n * h * w * 3 }, () => Math.floor(rng.float() * 256)), n, height: h, width: w, channels: 3 });
}

const batchOf = (images: Float32Array, n: number, h: number, w: number, channels = 3): ImageBatch => ({
  modality: 'image',
  images,
  n,
  height: h,
  width: w,
  channels,
  indices: new Int32Array(n),
});

describe('colorization: ab bins', () => {
  const bins = abBins(10);

  it('keeps the in-gamut cells of a 10×10 grid (about the paper’s 313) and maps each centre to its own bin', () => {
    expect(bins.count).toBeGreaterThan(200);
    expect(bins.count).toBeLessThan(330);
    expect(bins.cells).toBe(22);
    for (let q = 0; q < bins.count; q++) expect(quantiseAb(bins.centres[2 * q]!, bins.centres[2 * q + 1]!, bins)).toBe(q);
    // Neutral grey sits in the gamut; pure saturated (a, b) = (−100, 100) does not.
    const hasCentre = (a: number, b: number) =>
      Array.from({ length: bins.count }, (_, q) => q).some((q) => bins.centres[2 * q] === a && bins.centres[2 * q + 1] === b);
    expect(hasCentre(5, 5)).toBe(true);
    expect(hasCentre(-105, 105)).toBe(false);
  });

  it('maps an ab colour to the bin whose cell holds it, and the bin back to the cell centre', () => {
    const q = quantiseAb(20, -35, bins);
    expect([bins.centres[2 * q], bins.centres[2 * q + 1]]).toEqual([25, -35]);
    // Real sRGB colours land in their own (in-gamut) cell: the centre is within half a cell on both axes.
    const rng = new Rng(3);
    const lab = rgbToLab(Float32Array.from({ length: 300 }, () => rng.float()));
    const ab: number[] = [];
    for (let p = 0; p < lab.length; p += 3) {
      const bin = quantiseAb(lab[p + 1]!, lab[p + 2]!, bins);
      expect(Math.abs(bins.centres[2 * bin]! - lab[p + 1]!)).toBeLessThanOrEqual(5);
      expect(Math.abs(bins.centres[2 * bin + 1]! - lab[p + 2]!)).toBeLessThanOrEqual(5);
      ab.push(lab[p + 1]!, lab[p + 2]!);
    }
    // The tensor version agrees with the scalar one.
    const t = quantiseAbTensor(tf.tensor2d(ab, [100, 2]), bins);
    const want = Array.from({ length: 100 }, (_, i) => quantiseAb(ab[2 * i]!, ab[2 * i + 1]!, bins));
    expect(Array.from(t.dataSync())).toEqual(want);
    t.dispose();
    // Colours off the grid clamp to the edge cells and still get a bin.
    expect(quantiseAb(500, -500, bins)).toBeGreaterThanOrEqual(0);
  });
});

describe('colorization: data construction and loss', () => {
  it('the encoder sees only L (copied to 3 channels); the targets are the real ab channels', () => {
    const rng = new Rng(5);
    const rgb = Float32Array.from({ length: 2 * 4 * 4 * 3 }, () => rng.float());
    const lab = rgbToLab(rgb);
    const { x, ab } = colorizationBatch(batchOf(rgb, 2, 4, 4));
    const xs = x.dataSync();
    const abs = ab.dataSync();
    for (let p = 0; p < 32; p++) {
      for (let c = 0; c < 3; c++) expect(xs[3 * p + c]).toBeCloseTo(lab[3 * p]! / 100, 6);
      expect(abs[2 * p]).toBeCloseTo(lab[3 * p + 1]!, 4);
      expect(abs[2 * p + 1]).toBeCloseTo(lab[3 * p + 2]!, 4);
    }
    // The probe's view is exactly the training input.
    expect(Array.from(lightnessView(batchOf(rgb, 2, 4, 4)).images)).toEqual(Array.from(xs));
    tf.dispose([x, ab]);
    expect(() => colorizationBatch(batchOf(new Float32Array(16), 1, 4, 4, 1))).toThrow(/colour \(RGB, 3-channel\) images; these have 1/);
  });

  it('equals a hand-computed per-cell cross-entropy on fixed inputs', () => {
    const bins = abBins(10);
    const Q = bins.count;
    // ab [1, 2, 4, 2] pooled to the logits' 1×2 cells: left cell all (20, −35), right cell mean (5, 5).
    const left = [20, -35];
    const right = [
      [0, 0],
      [10, 10],
      [0, 10],
      [10, 0],
    ];
    const ab = new Float32Array(16);
    const put = (y: number, x: number, v: number[]) => ab.set(v, (y * 4 + x) * 2);
    put(0, 0, left);
    put(0, 1, left);
    put(1, 0, left);
    put(1, 1, left);
    put(0, 2, right[0]!);
    put(0, 3, right[1]!);
    put(1, 2, right[2]!);
    put(1, 3, right[3]!);
    const rng = new Rng(9);
    const logits = Float32Array.from({ length: 2 * Q }, () => 3 * (rng.float() - 0.5));
    const targets = [quantiseAb(20, -35, bins), quantiseAb(5, 5, bins)];
    expect([bins.centres[2 * targets[1]!], bins.centres[2 * targets[1]! + 1]]).toEqual([5, 5]);
    let want = 0;
    targets.forEach((t, cell) => {
      const row = logits.subarray(cell * Q, (cell + 1) * Q);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      want += (lse - row[t]!) / 2;
    });
    const loss = colorizationLoss(tf.tensor4d(logits, [1, 1, 2, Q]), tf.tensor4d(ab, [1, 2, 4, 2]), bins);
    expect(loss.dataSync()[0]).toBeCloseTo(want, 4);
    loss.dispose();
  });
});

describe('colorization: class rebalancing', () => {
  it('weights each cell by 1/((1−λ)p + λ/Q), normalised so E_p[w] = 1 (hand-computed, λ = 0.5)', () => {
    const logits = [
      [1, 0, -1],
      [0.5, 0.2, 0.1],
      [-0.3, 0.8, 0],
    ];
    const targets = [0, 0, 1];
    const ce = logits.map((row, i) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[targets[i]!]!);
    // p = [2/3, 1/3, 0] → 1/(0.5p + 0.5/3) = [2, 3, 6]; E_p = 7/3 → w = [6/7, 9/7, 18/7].
    const want = ((6 / 7) * ce[0]! + (6 / 7) * ce[1]! + (9 / 7) * ce[2]!) / 3;
    const lt = tf.tensor2d(logits);
    const tt = tf.tensor1d(targets, 'int32');
    const balanced = cellCrossEntropy(lt, tt, 0.5);
    const plain = cellCrossEntropy(lt, tt, 1);
    expect(balanced.dataSync()[0]).toBeCloseTo(want, 5);
    expect(plain.dataSync()[0]).toBeCloseTo((ce[0]! + ce[1]! + ce[2]!) / 3, 5);
    tf.dispose([lt, tt, balanced, plain]);
  });
});

describe('colorization: training', () => {
  it('is registered with the paper defaults and trains a few steps without leaking tensors', async () => {
    const r = createRegistry().use(contextTasks);
    expect(r.parseConfig('colorization', {})).toEqual({ binSize: 10, hidden: 128, rebalance: 0.5, temperature: 0.38 });
    const data = colourImages(24, 16, 16, 1);
    const encoder = createConvNet({ inputShape: [16, 16, 3], widths: [8, 16], seed: 1 });
    expect(featureMapModel(encoder).outputs[0]!.shape).toEqual([null, 8, 8, 16]);
    const before = tf.memory().numTensors;
    const result = await train({ task: colorizationTask, encoder, source: data, config: { epochs: 2, batchSize: 8, seed: 1 } });
    expect(result.history).toHaveLength(6);
    expect(result.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    const pictures = colorizationPictures(encoder, result.heads.colour!, data.batch(Int32Array.of(0, 1, 2), new Rng(0)), r.parseConfig('colorization', {}));
    expect(pictures).toHaveLength(1);
    expect([pictures[0]!.height, pictures[0]!.width, pictures[0]!.channels]).toEqual([3 * 16 + 4, 3 * 16 + 4, 3]);
    const headWeights = Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read()));
    tf.dispose(headWeights);
    // Everything left over was created before training (the encoder) or is the heads' (disposed above).
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    encoder.dispose();
  });
});
