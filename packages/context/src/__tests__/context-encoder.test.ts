import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextEncoderConfig, contextEncoderTask, contextTasks, lossWeights, maskImages, maskedL2Loss } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('context-encoder: masked L2 loss', () => {
  // One 2×2 image with 2 channels; the mask covers pixels (0,0) and (1,1).
  const target = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 2, 2]);
  const mask = tf.tensor4d([1, 0, 0, 1], [1, 2, 2, 1]);
  afterAll(() => tf.dispose([target, mask]));

  it('equals the hand-computed mean squared error over the masked pixels and channels', () => {
    const pred = tf.tensor4d([1, 1, 9, 9, 9, 9, 6, 5], [1, 2, 2, 2]);
    // Masked values: (0-1)², (1-1)², (6-6)², (7-5)² = 1 + 0 + 0 + 4 = 5 over 2 pixels × 2 channels.
    expect(tf.tidy(() => maskedL2Loss(target, pred, mask)).dataSync()[0]).toBeCloseTo(5 / 4, 6);
    pred.dispose();
  });

  it('does not change when the prediction changes outside the mask', () => {
    const pred = tf.tensor4d([1, 1, 9, 9, 9, 9, 6, 5], [1, 2, 2, 2]);
    const other = tf.tensor4d([1, 1, -50, 3, 0.5, 100, 6, 5], [1, 2, 2, 2]);
    const inside = tf.tensor4d([1, 2, 9, 9, 9, 9, 6, 5], [1, 2, 2, 2]);
    const a = maskedL2Loss(target, pred, mask).dataSync()[0]!;
    expect(maskedL2Loss(target, other, mask).dataSync()[0]).toBe(a);
    // ...but does change inside it: (1-2)² adds 1 → 6/4.
    expect(maskedL2Loss(target, inside, mask).dataSync()[0]).toBeCloseTo(6 / 4, 6);
    tf.dispose([pred, other, inside]);
  });
});

describe('context-encoder: data construction', () => {
  it('removes the central half-side square, fills it with the batch mean per channel, and leaves the rest untouched', () => {
    const h = 8;
    const images = Float32Array.from({ length: 2 * h * h * 2 }, (_, k) => (k % 7) / 7);
    const { masked, masks } = maskImages(images, 2, h, h, 2, { mask: 'central', maskFraction: 0.5 }, new Rng(0));
    const mean = [0, 1].map((c) => images.filter((_, k) => k % 2 === c).reduce((s, v) => s + v, 0) / (images.length / 2));
    for (let i = 0; i < 2; i++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < h; x++) {
          const inside = y >= 2 && y < 6 && x >= 2 && x < 6;
          const p = (i * h + y) * h + x;
          expect(masks[p]).toBe(inside ? 1 : 0);
          for (let c = 0; c < 2; c++) expect(masked[p * 2 + c]).toBeCloseTo(inside ? mean[c]! : images[p * 2 + c]!, 6);
        }
  });

  it('places random squares of the same size at varying places', () => {
    const { masks } = maskImages(new Float32Array(20 * 64), 20, 8, 8, 1, { mask: 'random', maskFraction: 0.5 }, new Rng(1));
    const corners = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const m = masks.subarray(i * 64, (i + 1) * 64);
      expect(m.reduce((s, v) => s + v, 0)).toBe(16);
      corners.add(m.indexOf(1));
    }
    expect(corners.size).toBeGreaterThan(5);
  });

  it("'blocks' removes several small squares that together cover the stated fraction, at varying places", () => {
    const n = 50;
    const h = 28;
    const cfg = { mask: 'blocks' as const, maskFraction: 0.5, blockFraction: 0.25, blockCoverage: 0.25 };
    const images = Float32Array.from({ length: n * h * h }, (_, k) => (k % 3) / 2);
    const mean = images.reduce((s, v) => s + v, 0) / images.length;
    const { masked, masks } = maskImages(images, n, h, h, 1, cfg, new Rng(3));
    const target = Math.ceil(0.25 * h * h); // 196 px
    const block = 7 * 7; // round(0.25 × 28) = 7 px squares
    const layouts = new Set<string>();
    for (let i = 0; i < n; i++) {
      const m = masks.subarray(i * h * h, (i + 1) * h * h);
      const covered = m.reduce((s, v) => s + v, 0);
      expect(covered).toBeGreaterThanOrEqual(target);
      expect(covered).toBeLessThan(target + block);
      layouts.add(m.join(''));
    }
    // Removed pixels hold the batch mean, the others are untouched.
    masks.forEach((m, p) => expect(masked[p]).toBeCloseTo(m === 1 ? mean : images[p]!, 6));
    // Different layouts per image: more than one block each (≥ 196 px with 49 px squares) at random places.
    expect(layouts.size).toBe(n);
  });

  it("'blocks' is deterministic for a seed and differs between seeds", () => {
    const cfg = { mask: 'blocks' as const, maskFraction: 0.5, blockFraction: 0.25, blockCoverage: 0.3 };
    const images = Float32Array.from({ length: 4 * 16 * 16 }, (_, k) => (k % 5) / 5);
    const a = maskImages(images, 4, 16, 16, 1, cfg, new Rng(7));
    const b = maskImages(images, 4, 16, 16, 1, cfg, new Rng(7));
    const c = maskImages(images, 4, 16, 16, 1, cfg, new Rng(8));
    expect(b.masks).toEqual(a.masks);
    expect(b.masked).toEqual(a.masked);
    expect(c.masks).not.toEqual(a.masks);
  });

  it('rejects a block side that leaves nothing masked, naming the field', () => {
    expect(() =>
      maskImages(new Float32Array(64), 1, 8, 8, 1, { mask: 'blocks', maskFraction: 0.5, blockFraction: 0.01, blockCoverage: 0.25 }, new Rng(0)),
    ).toThrow(/blockFraction 0.01/);
  });

  it('weights the overlap band of context around the hole, and nothing further out', () => {
    // A 5×5 image whose hole is the single centre pixel (2,2); overlap 1 → its 8 neighbours get weight 10.
    const masks = new Float32Array(25);
    masks[12] = 1;
    const w = lossWeights(masks, 1, 5, 5, 1, 10);
    const expected = [0, 0, 0, 0, 0, 0, 10, 10, 10, 0, 0, 10, 1, 10, 0, 0, 10, 10, 10, 0, 0, 0, 0, 0, 0];
    expect(Array.from(w)).toEqual(expected);
    expect(lossWeights(masks, 1, 5, 5, 0, 10)).toBe(masks);
    // The weighted loss: an error of 1 at the hole and 2 on one band pixel → (1·1 + 10·4) / (1 + 8·10).
    const target = tf.zeros([1, 5, 5, 1]) as tf.Tensor4D;
    const predData = new Float32Array(25);
    predData[12] = 1;
    predData[6] = 2;
    predData[0] = 100; // outside the band: no loss
    const pred = tf.tensor4d(predData, [1, 5, 5, 1]);
    const weights = tf.tensor4d(w, [1, 5, 5, 1]);
    expect(tf.tidy(() => maskedL2Loss(target, pred, weights)).dataSync()[0]).toBeCloseTo(41 / 81, 6);
    tf.dispose([target, pred, weights]);
  });

  it('prepares default batches whose loss weights are the removed pixels only; overlap 2 adds a 10× band', () => {
    const h = 28;
    const images = Float32Array.from({ length: 3 * h * h }, (_, k) => ((k * 37) % 101) / 100);
    const raw = { modality: 'image' as const, images, n: 3, height: h, width: h, channels: 1, indices: Int32Array.of(0, 1, 2) };
    for (const overlap of [0, 2]) {
      const config = contextEncoderConfig.parse(overlap ? { overlap } : {});
      const batch = contextEncoderTask.prepare(raw, { config, rng: new Rng(4), training: true });
      const weights = batch.mask.dataSync();
      const { masks } = maskImages(images, 3, h, h, 1, config, new Rng(4));
      if (overlap === 0) expect(Array.from(weights)).toEqual(Array.from(masks));
      else expect(Array.from(weights)).toEqual(Array.from(lossWeights(masks, 3, h, h, 2, 10)));
      expect(new Set(weights)).toEqual(new Set(overlap ? [0, 1, 10] : [0, 1]));
      expect(batch.target.dataSync()).toEqual(images);
      tf.dispose(Object.values(batch));
    }
  });

  it('is registered in the context family with the paper defaults', () => {
    const r = createRegistry().use(contextTasks);
    expect(r.get('context-encoder').family).toBe('context');
    expect(r.parseConfig('context-encoder', {})).toEqual({
      mask: 'blocks',
      maskFraction: 0.5,
      blockFraction: 0.25,
      blockCoverage: 0.25,
      overlap: 0,
      overlapWeight: 10,
      decoderWidth: 64,
    });
  });
});

describe('context-encoder: training and report pictures', () => {
  it('trains a few steps without leaking tensors and draws originals, masked inputs, masks and reconstructions', async () => {
    const rng = new Rng(2);
    const images = Float32Array.from({ length: 16 * 28 * 28 }, () => rng.float());
    const source = {
      modality: 'image' as const,
      size: 16,
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
    const run = () => train({ task: contextEncoderTask, taskConfig: { decoderWidth: 8 }, encoder, source, config: { epochs: 1, batchSize: 4, seed: 1 } });
    const dispose = (r: Awaited<ReturnType<typeof run>>) => tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
    dispose(await run());
    const before = tf.memory().numTensors;
    const r = await run();
    expect(r.steps).toBe(4);
    const pictures = contextEncoderTask.reportImages!({
      config: contextEncoderConfig.parse({ mask: 'central', decoderWidth: 8 }),
      encoder,
      heads: r.heads as never,
      raw: source.batch(Int32Array.of(0, 1, 2)),
    });
    dispose(r);
    expect(tf.memory().numTensors).toBe(before);
    expect(pictures).toHaveLength(1);
    const pic = pictures[0]!;
    // 4 rows × 3 columns of 28×28 images with 1 px borders.
    expect([pic.height, pic.width, pic.channels]).toEqual([4 * 29 + 1, 3 * 29 + 1, 1]);
    const at = (row: number, col: number, y: number, x: number) => pic.pixels[(row * 29 + 1 + y) * pic.width + col * 29 + 1 + x]!;
    // Row 0 is the original, row 2 the mask (1 inside the central 14×14 square), row 3 keeps the original outside the hole.
    expect(at(0, 1, 3, 4)).toBeCloseTo(images[784 + 3 * 28 + 4]!, 6);
    expect(at(2, 1, 14, 14)).toBe(1);
    expect(at(2, 1, 3, 4)).toBe(0);
    expect(at(3, 1, 3, 4)).toBeCloseTo(images[784 + 3 * 28 + 4]!, 6);
    encoder.dispose();
  });
});
