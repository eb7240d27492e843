import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SslError, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENCODERS,
  Patchify,
  VitTokens,
  createConvNet,
  createEncoder,
  createVit,
  featureDim,
  loadLayersModel,
  positionResizeMatrix,
  saveLayersModel,
  sinCosPositions2d,
  vitParts,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

const tiny = { dim: 16, depth: 2, heads: 2 };
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('Patchify', () => {
  it('cuts images into row-major patches, each flattened as (row, column, channel)', () => {
    // One 4×4 image with 2 channels: value = 100·y + 10·x + c.
    const data = Float32Array.from({ length: 32 }, (_, k) => 100 * Math.floor(k / 8) + 10 * Math.floor((k % 8) / 2) + (k % 2));
    const x = tf.tensor4d(data, [1, 4, 4, 2]);
    const p = new Patchify({ patch: 2 }).apply(x) as tf.Tensor;
    expect(p.shape).toEqual([1, 4, 8]);
    // Patch 1 is the top-right square: pixels (0,2), (0,3), (1,2), (1,3).
    expect(values(p).slice(8, 16)).toEqual([20, 21, 30, 31, 120, 121, 130, 131]);
    // Patch 2 is the bottom-left square.
    expect(values(p).slice(16, 24)).toEqual([200, 201, 210, 211, 300, 301, 310, 311]);
    tf.dispose([x, p]);
  });
});

describe('sinCosPositions2d', () => {
  it('encodes the row in the first half and the column in the second, sin then cos', () => {
    const t = sinCosPositions2d(2, 3, 8); // q = 2 frequencies: 1 and 1/100
    const at = (y: number, x: number) => Array.from(t.subarray((y * 3 + x) * 8, (y * 3 + x + 1) * 8));
    const expected = (y: number, x: number) => [
      Math.sin(y),
      Math.sin(y / 100),
      Math.cos(y),
      Math.cos(y / 100),
      Math.sin(x),
      Math.sin(x / 100),
      Math.cos(x),
      Math.cos(x / 100),
    ];
    for (const [y, x] of [
      [0, 0],
      [1, 2],
      [0, 1],
    ] as const)
      at(y, x).forEach((v, k) => expect(v).toBeCloseTo(expected(y, x)[k]!, 6));
    expect(() => sinCosPositions2d(2, 2, 6)).toThrow(/divisible by 4/);
  });
});

describe('createVit', () => {
  it('maps images to [n, dim] features, is registered as "vit" with small defaults, and is deterministic per seed', () => {
    expect(ENCODERS.vit.config.parse({})).toEqual({ patch: 4, dim: 64, depth: 4, heads: 4, mlpRatio: 4, positions: 'sincos', pooling: 'mean' });
    const a = createEncoder('vit', tiny, [28, 28, 1], 3);
    const b = createVit({ inputShape: [28, 28, 1], ...tiny, seed: 3 });
    expect(featureDim(a)).toBe(16);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1);
    const fa = a.predict(x) as tf.Tensor;
    expect(fa.shape).toEqual([3, 16]);
    expect(values(b.predict(x) as tf.Tensor)).toEqual(values(fa));
    const c = createVit({ inputShape: [28, 28, 1], ...tiny, seed: 4 });
    expect(values(c.predict(x) as tf.Tensor)).not.toEqual(values(fa));
    tf.dispose([x, fa]);
  });

  it('pools the mean of the patch tokens (class token left out) or the class token', () => {
    const enc = createVit({ inputShape: [8, 8, 3], patch: 4, ...tiny, pooling: 'cls', seed: 0 });
    const vit = vitParts(enc);
    expect(vit.grid).toEqual([2, 2]);
    expect([vit.patch, vit.dim]).toEqual([4, 16]);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2);
    const tokens = tf.tidy(() => vit.blocks.apply(vit.tokens.apply(vit.patchEmbed.apply(vit.patchify.apply(x)))) as tf.Tensor3D);
    expect(tokens.shape).toEqual([2, 5, 16]);
    const tok = tokens.arraySync();
    const cls = (enc.predict(x) as tf.Tensor).arraySync() as number[][];
    for (let i = 0; i < 2; i++) cls[i]!.forEach((v, k) => expect(v).toBeCloseTo(tok[i]![0]![k]!, 5));
    const mean = createVit({ inputShape: [8, 8, 3], patch: 4, ...tiny, pooling: 'mean', seed: 0 });
    const m = (mean.predict(x) as tf.Tensor).arraySync() as number[][];
    for (let i = 0; i < 2; i++) m[i]!.forEach((v, k) => expect(v).toBeCloseTo((tok[i]![1]![k]! + tok[i]![2]![k]! + tok[i]![3]![k]! + tok[i]![4]![k]!) / 4, 5));
    tf.dispose([x, tokens]);
  });

  it('embeds a subset of patches with the positions of the selected ones', () => {
    const layer = new VitTokens({ grid: [2, 2], positions: 'learned', seed: 1 });
    const all = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 3);
    const full = layer.apply(all) as tf.Tensor3D; // [1, 5, 8]
    // Patches 3 and 1, in that order, as a one-hot selection.
    const select = tf.tensor3d([0, 0, 0, 1, 0, 1, 0, 0], [1, 2, 4]);
    const sub = layer.apply([tf.gather(all, [3, 1], 1), select]) as tf.Tensor3D;
    const f = full.arraySync()[0]!;
    const s = sub.arraySync()[0]!;
    expect(s).toHaveLength(3);
    [f[0]!, f[4]!, f[2]!].forEach((row, r) => row.forEach((v, k) => expect(s[r]![k]).toBeCloseTo(v, 5)));
    tf.dispose([all, full, select, sub]);
  });

  it('round-trips through save/load to identical features (custom layers and the nested blocks deserialise)', async () => {
    const enc = createVit({ inputShape: [32, 32, 3], ...tiny, positions: 'learned', seed: 5 });
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ssl-vit-')), 'encoder');
    await saveLayersModel(enc, dir);
    const loaded = await loadLayersModel(dir);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 6);
    expect(values(loaded.predict(x) as tf.Tensor)).toEqual(values(enc.predict(x) as tf.Tensor));
    // The loaded model still exposes its pieces to MAE.
    expect(vitParts(loaded).grid).toEqual([8, 8]);
    x.dispose();
  });

  it('rejects patch sizes that do not tile the image and non-image shapes, naming the fix', () => {
    expect(() => createEncoder('vit', { patch: 5 }, [28, 28, 1], 0)).toThrow(/vit patch 5 for 28×28 images.*--set encoder.patch/);
    expect(() => createEncoder('vit', {}, [64], 0)).toThrow(SslError);
    expect(() => createEncoder('vit', { dim: 30, heads: 4 }, [28, 28, 1], 0)).toThrow(/multiple of heads/);
  });

  it('vitParts refuses a non-ViT encoder with one line naming --encoder vit', () => {
    expect(() => vitParts(createConvNet({ widths: [4, 8], seed: 0 }), 'MAE')).toThrow(/^MAE needs a ViT encoder.*Use --encoder vit\.$/);
  });
});

describe('ViT at another resolution', () => {
  it('resizes the position grid bilinearly (identity at the built size) and encodes smaller crops', () => {
    const same = positionResizeMatrix([3, 3], [3, 3]);
    expect(Array.from(same)).toEqual(Array.from({ length: 81 }, (_, k) => (Math.floor(k / 9) === k % 9 ? 1 : 0)));
    expect(Array.from(positionResizeMatrix([2, 2], [1, 1]))).toEqual([0.25, 0.25, 0.25, 0.25]);
    // 4 → 2 columns: centres at 0.5 and 2.5 of the source, halfway between source positions.
    const half = positionResizeMatrix([1, 4], [1, 2]);
    expect(Array.from(half)).toEqual([0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
    for (let r = 0; r < 4; r++)
      expect(
        positionResizeMatrix([7, 7], [4, 4])
          .subarray(r * 49, (r + 1) * 49)
          .reduce((s, v) => s + v, 0),
      ).toBeCloseTo(1, 6);
    const enc = createVit({ inputShape: [28, 28, 1], ...tiny, seed: 0 });
    const crops = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 9);
    const f = enc.apply(crops) as tf.Tensor;
    expect(f.shape).toEqual([2, 16]);
    expect(values(f).every(Number.isFinite)).toBe(true);
    const odd = tf.zeros([1, 28, 16, 1]);
    expect(() => enc.apply(odd)).toThrow(/aspect ratio/);
    tf.dispose([crops, f, odd]);
  });
});
