import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type ImageBatch } from '@ssl/core';
import { labToRgb, rgbToLab } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { cmcConfig, cmcTask, cmcViews, crossViewInfoNCE } from '../index';

beforeAll(async () => {
  await initBackend();
});

const rgbBatch = (n: number, size: number, seed: number): ImageBatch => {
  const rng = new Rng(seed);
  return {
    modality: 'image',
    images: Float32Array.from({ length: n * size * size * 3 }, () => rng.float()),
    n,
    height: size,
    width: size,
    channels: 3,
    indices: new Int32Array(n),
  };
};

describe('CMC', () => {
  it('view 1 (L) sees only lightness and view 2 only the ab channels', () => {
    const raw = rgbBatch(2, 4, 1);
    const config = cmcConfig.parse({});
    const { view1, view2 } = cmcViews(raw, config);
    const lab = rgbToLab(raw.images);
    expect(view2.channels).toBe(2);
    expect(view1.images[3 * 5 + 1]).toBeCloseTo(lab[3 * 5]! / 100, 6);
    expect(view2.images[2 * 5 + 1]).toBeCloseTo((lab[3 * 5 + 2]! + 128) / 255, 6);
    // The grey image with the same lightness (a = b = 0) gives the same view 1: no colour reaches it.
    const grey = new Float32Array(lab);
    for (let p = 0; p < grey.length; p += 3) grey[p + 1] = grey[p + 2] = 0;
    const greyView1 = cmcViews({ ...raw, images: labToRgb(grey) }, config).view1.images;
    view1.images.forEach((v, i) => expect(greyView1[i]).toBeCloseTo(v, 4));
    // Channel groups: changing view-2 channels leaves view 1 alone, and vice versa.
    const ch = cmcConfig.parse({ views: 'channels', view1Channels: [0] });
    const a = cmcViews(raw, ch);
    const changed = new Float32Array(raw.images);
    for (let p = 0; p < changed.length; p += 3) changed[p + 2] = 0.5;
    const b = cmcViews({ ...raw, images: changed }, ch);
    expect([...b.view1.images]).toEqual([...a.view1.images]);
    expect([...b.view2.images]).not.toEqual([...a.view2.images]);
    expect(() => cmcViews({ ...raw, channels: 1, images: new Float32Array(32) }, config)).toThrow(/need RGB images \(3 channels\); these have 1/);
  });

  it('cross-view InfoNCE (both directions) matches a hand-written softmax', () => {
    const z1 = [
      [1, 0],
      [0.6, 0.8],
      [0, -2],
    ];
    const z2 = [
      [0.8, 0.6],
      [0, 1],
      [1, -1],
    ];
    const tau = 0.5;
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const ce = (q: number[][], k: number[][]) =>
      q.reduce((acc, qi, i) => {
        const s = k.map((kj) => unit(qi).reduce((d, x, t) => d + x * unit(kj)[t]!, 0) / tau);
        return acc - (s[i]! - Math.log(s.reduce((e, x) => e + Math.exp(x), 0)));
      }, 0) / q.length;
    const got = crossViewInfoNCE(tf.tensor2d(z1), tf.tensor2d(z2), tau).arraySync();
    expect(got).toBeCloseTo(ce(z1, z2) + ce(z2, z1), 5);
  });

  it('trains both view encoders: the loss reaches the shared encoder and the view-2 encoder', () => {
    const config = cmcConfig.parse({ view2Widths: [4, 8], embeddingDim: 8 });
    const encoder = createConvNet({ inputShape: [8, 8, 3], widths: [4, 8], seed: 0 });
    const heads = cmcTask.createHeads({ config, featureDim: 8, inputShape: [8, 8, 3], seed: 1 });
    const batch = tf.tidy(() => cmcTask.prepare(rgbBatch(4, 8, 2), { config, rng: new Rng(0), training: true }));
    expect(batch.x1!.shape).toEqual([4, 8, 8, 3]);
    expect(batch.x2!.shape).toEqual([4, 8, 8, 2]);
    const vars = [encoder.trainableWeights[0]!.read(), heads.view2!.trainableWeights[0]!.read()] as tf.Variable[];
    const { value, grads } = tf.variableGrads(
      () =>
        cmcTask.loss({ config, encoder, heads, batch, state: undefined, training: true, encode: (x) => encoder.apply(x, { training: true }) as tf.Tensor2D }),
      vars,
    );
    expect(Number.isFinite(value.arraySync())).toBe(true);
    for (const g of Object.values(grads)) expect(tf.abs(g).max().arraySync()).toBeGreaterThan(0);
  });
});
