import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train } from '@ssl/core';
import { createConvNet, createVit, vitParts } from '@ssl/encoders';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MaeDecoderInput,
  contextTasks,
  maeConfig,
  maeEncode,
  maeLoss,
  maeTask,
  normalizePatches,
  patchMaskFromNoise,
  randomPatchMask,
  selectionMatrix,
  visiblePatchCount,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

const tinyVit = (inputShape: number[], seed = 0) => createVit({ inputShape, patch: 4, dim: 16, depth: 1, heads: 2, mlpRatio: 2, seed });
const tinyTask = { decoderDim: 16, decoderDepth: 1, decoderHeads: 2 };

describe('mae: random patch masking', () => {
  it('removes exactly 75 % of the patches of every image, a different subset per image', () => {
    const n = 20;
    const m = randomPatchMask(n, 64, 0.75, new Rng(0));
    expect(m.keep).toBe(16);
    const layouts = new Set<string>();
    for (let i = 0; i < n; i++) {
      const row = m.masked.subarray(i * 64, (i + 1) * 64);
      expect(row.reduce((s, v) => s + v, 0)).toBe(48);
      const vis = Array.from(m.visible.subarray(i * 16, (i + 1) * 16));
      expect(vis).toEqual([...vis].sort((a, b) => a - b)); // ascending
      expect(new Set(vis).size).toBe(16);
      vis.forEach((j) => expect(row[j]).toBe(0)); // visible ⇔ not masked
      layouts.add(row.join(''));
    }
    expect(layouts.size).toBe(n);
    // 49 patches (28 px, patch 4): floor(49 × 0.25) = 12 visible, 37 removed.
    expect(visiblePatchCount(49, 0.75)).toBe(12);
    expect(() => visiblePatchCount(4, 0.9)).toThrow(/maskRatio 0.9 of 4 patches leaves 0 visible.*--set task.maskRatio/);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = randomPatchMask(4, 64, 0.75, new Rng(7));
    expect(randomPatchMask(4, 64, 0.75, new Rng(7))).toEqual(a);
    expect(randomPatchMask(4, 64, 0.75, new Rng(8)).masked).not.toEqual(a.masked);
  });

  it('keeps the patches with the lowest noise, using only the first L noise values of each row', () => {
    const noise = Float32Array.of(0.9, 0.1, 0.5, 0.3, 0.0, /* image 2 */ 0.2, 0.8, 0.1, 0.7, 0.0);
    const m = patchMaskFromNoise(noise, 2, 5, 4, 0.5);
    expect(Array.from(m.visible)).toEqual([1, 3, 0, 2]);
    expect(Array.from(m.masked)).toEqual([1, 0, 1, 0, 0, 1, 0, 1]);
  });

  it("prepare draws the mask noise from the step's generator: same seed, same batch", () => {
    const images = Float32Array.from({ length: 2 * 16 * 16 }, (_, k) => (k % 9) / 9);
    const raw = { modality: 'image' as const, images, n: 2, height: 16, width: 16, channels: 1, indices: Int32Array.of(0, 1) };
    const config = maeConfig.parse({});
    const [a, b, c] = [1, 1, 2].map((s) => maeTask.prepare(raw, { config, rng: new Rng(s), training: true }));
    expect(a!.noise!.shape).toEqual([2, 256]);
    expect(a!.noise!.dataSync()).toEqual(b!.noise!.dataSync());
    expect(a!.noise!.dataSync()).not.toEqual(c!.noise!.dataSync());
    expect(a!.x!.dataSync()).toEqual(images);
    tf.dispose([a, b, c].flatMap((x) => Object.values(x!)));
  });
});

describe('mae: loss', () => {
  // 1 image, 3 patches of 2 values; patches 0 and 2 are removed.
  const target = tf.tensor3d([
    [
      [1, 3],
      [0, 0],
      [2, 6],
    ],
  ]);
  const mask = tf.tensor2d([[1, 0, 1]]);

  it('equals the mean squared error over the removed patches, computed by hand', () => {
    const pred = tf.tensor3d([
      [
        [0, 3],
        [5, 5],
        [2, 2],
      ],
    ]);
    // Patch 0: ((1−0)² + 0) / 2 = 0.5; patch 2: (0 + (6−2)²) / 2 = 8; mean over 2 removed patches = 4.25.
    expect(maeLoss(pred, target, mask).dataSync()[0]).toBeCloseTo(4.25, 6);
    pred.dispose();
  });

  it('does not change when the predictions on visible patches change, but does on removed ones', () => {
    const pred = tf.tensor3d([
      [
        [0, 3],
        [5, 5],
        [2, 2],
      ],
    ]);
    const visibleChanged = tf.tensor3d([
      [
        [0, 3],
        [-100, 42],
        [2, 2],
      ],
    ]);
    const removedChanged = tf.tensor3d([
      [
        [1, 3],
        [5, 5],
        [2, 2],
      ],
    ]);
    const base = maeLoss(pred, target, mask).dataSync()[0]!;
    expect(maeLoss(visibleChanged, target, mask).dataSync()[0]).toBe(base);
    expect(maeLoss(removedChanged, target, mask).dataSync()[0]).toBeCloseTo(4, 6); // patch 0 now exact: 8 / 2
    tf.dispose([pred, visibleChanged, removedChanged]);
  });

  it('normalises each patch by its own mean and unbiased variance (the normalised-pixel target)', () => {
    const patches = [
      [1, 2, 3, 6],
      [4, 4, 4, 4],
      [0, 10, 0, 10],
    ];
    const expected = patches.map((p) => {
      const mu = p.reduce((s, v) => s + v, 0) / p.length;
      const v = p.reduce((s, x) => s + (x - mu) ** 2, 0) / (p.length - 1);
      return p.map((x) => (x - mu) / Math.sqrt(v + 1e-6));
    });
    const t = tf.tensor3d([patches]);
    const out = normalizePatches(t).arraySync()[0]!;
    out.forEach((row, j) => row.forEach((v, k) => expect(v).toBeCloseTo(expected[j]![k]!, 4)));
    // The loss against the normalised target, by hand: prediction zeros → mean of squares of the removed (0, 2) patches.
    const zeros = tf.zerosLike(t) as tf.Tensor3D;
    const m = tf.tensor2d([[1, 0, 1]]);
    const byHand = ([0, 2] as const).map((j) => expected[j]!.reduce((s, v) => s + v * v, 0) / 4).reduce((s, v) => s + v, 0) / 2;
    expect(tf.tidy(() => maeLoss(zeros, normalizePatches(t), m)).dataSync()[0]).toBeCloseTo(byHand, 4);
    tf.dispose([t, zeros, m]);
  });

  afterAll(() => tf.dispose([target, mask]));
});

describe('mae: the encoder sees the visible patches only', () => {
  it("changing removed pixels leaves the encoder's latent unchanged; changing a visible patch changes it", () => {
    const enc = tinyVit([16, 16, 1]);
    const vit = vitParts(enc, 'MAE');
    const n = 2;
    const m = randomPatchMask(n, 16, 0.75, new Rng(3));
    expect(m.keep).toBe(4);
    const rng = new Rng(1);
    const base = Float32Array.from({ length: n * 256 }, () => rng.float());
    const pixelPatch = (p: number) => Math.floor(Math.floor(p / 16) / 4) * 4 + Math.floor((p % 16) / 4); // patch of pixel p within its image
    const change = (keepVisible: boolean) =>
      base.map((v, k) => {
        const i = Math.floor(k / 256);
        const masked = m.masked[i * 16 + pixelPatch(k % 256)] === 1;
        return masked === keepVisible ? v + 5 : v; // keepVisible: alter only removed pixels
      });
    const latent = (data: Float32Array) =>
      tf.tidy(() => Array.from(maeEncode(vit, tf.tensor4d(data, [n, 16, 16, 1]), selectionMatrix(m.visible, n, m.keep, 16)).dataSync()));
    const a = latent(base);
    expect(a).toHaveLength(n * (1 + 4) * 16); // class token + 4 visible tokens per image
    expect(latent(change(true))).toEqual(a);
    expect(latent(change(false))).not.toEqual(a);
    // Selecting every patch reproduces the full ViT's tokens exactly: patch order and positions line up.
    const all = Int32Array.from({ length: n * 16 }, (_, k) => k % 16);
    const viaSelection = tf.tidy(() => Array.from(maeEncode(vit, tf.tensor4d(base, [n, 16, 16, 1]), selectionMatrix(all, n, 16, 16)).dataSync()));
    const direct = tf.tidy(() =>
      Array.from((vit.blocks.apply(vit.tokens.apply(vit.patchEmbed.apply(vit.patchify.apply(tf.tensor4d(base, [n, 16, 16, 1]))))) as tf.Tensor).dataSync()),
    );
    viaSelection.forEach((v, k) => expect(v).toBeCloseTo(direct[k]!, 5));
    enc.dispose();
  });
});

describe('mae: decoder input', () => {
  it('puts each visible token back at its patch, the mask token at removed patches, and adds the positions', () => {
    const layer = new MaeDecoderInput({ grid: [2, 2], seed: 1 });
    // 1 image, class token + 2 visible tokens (patches 3 and 1, in selection order), width 4.
    const tokens = tf.tensor3d([
      [
        [9, 9, 9, 9],
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
    ]);
    const select = selectionMatrix(Int32Array.of(3, 1), 1, 2, 4);
    const out = (layer.apply([tokens, tf.transpose(select, [0, 2, 1])]) as tf.Tensor3D).arraySync()[0]!;
    const [maskToken, positions] = layer.getWeights().map((w) => w.arraySync() as number[] | number[][]) as [number[], number[][]];
    expect(positions[0]).toEqual([0, 0, 0, 0]); // class token: no position
    const expectedRow = [[9, 9, 9, 9], maskToken, [5, 6, 7, 8], maskToken, [1, 2, 3, 4]];
    expectedRow.forEach((row, j) => row.forEach((v, k) => expect(out[j]![k]).toBeCloseTo(v + positions[j]![k]!, 5)));
    tf.dispose([tokens, select]);
  });
});

describe('mae: training', () => {
  // 16×16 ramps at random angles and offsets: smooth, so removed patches are predictable from visible ones.
  const n = 32;
  const rng = new Rng(5);
  const images = new Float32Array(n * 256);
  for (let i = 0; i < n; i++) {
    const angle = rng.float() * Math.PI * 2;
    const offset = rng.float();
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) images[i * 256 + y * 16 + x] = 0.5 + 0.5 * Math.sin(offset * 6 + (Math.cos(angle) * x + Math.sin(angle) * y) / 3);
  }
  const source = {
    modality: 'image' as const,
    size: n,
    batch: (idx: Int32Array) => {
      const out = new Float32Array(idx.length * 256);
      idx.forEach((j, r) => out.set(images.subarray(j * 256, (j + 1) * 256), r * 256));
      return { modality: 'image' as const, images: out, n: idx.length, height: 16, width: 16, channels: 1, indices: idx };
    },
  };
  const disposeHeads = (heads: Record<string, tf.LayersModel>) => Object.values(heads).forEach((h) => h.dispose());

  it('lowers the loss, trains the encoder weights the probe reads, keeps the tensor count flat, and draws report pictures', async () => {
    const encoder = tinyVit([16, 16, 1], 1);
    const before = (encoder.predict(tf.ones([1, 16, 16, 1])) as tf.Tensor).dataSync().slice();
    const run = (epochs: number) => train({ task: maeTask, taskConfig: tinyTask, encoder, source, config: { epochs, batchSize: 8, lr: 3e-3, seed: 2 } });
    disposeHeads((await run(1)).heads);
    const count = tf.memory().numTensors;
    const r = await run(6);
    expect(r.steps).toBe(24);
    const first = r.history.slice(0, 4).reduce((s, h) => s + h.loss, 0) / 4;
    const last = r.history.slice(-4).reduce((s, h) => s + h.loss, 0) / 4;
    expect(last).toBeLessThan(0.8 * first);
    const pictures = maeTask.reportImages!({ config: maeConfig.parse(tinyTask), encoder, heads: r.heads as never, raw: source.batch(Int32Array.of(0, 1)) });
    disposeHeads(r.heads);
    expect(tf.memory().numTensors).toBe(count);
    // The probe's view (the encoder's pooled output on whole images) changed: MAE trained the same weights.
    const after = tf.tidy(() => (encoder.predict(tf.ones([1, 16, 16, 1])) as tf.Tensor).dataSync().slice());
    expect(Array.from(after)).not.toEqual(Array.from(before));
    // 3 rows (originals, visible patches, reconstructions) × 2 columns of 16×16 images with 1 px borders.
    const pic = pictures[0]!;
    expect([pic.height, pic.width, pic.channels]).toEqual([3 * 17 + 1, 2 * 17 + 1, 1]);
    const at = (row: number, col: number, y: number, x: number) => pic.pixels[(row * 17 + 1 + y) * pic.width + col * 17 + 1 + x]!;
    const m = randomPatchMask(2, 16, 0.75, new Rng(0));
    for (let j = 0; j < 16; j++) {
      const [y, x] = [Math.floor(j / 4) * 4 + 1, (j % 4) * 4 + 2];
      const orig = images[256 + y * 16 + x]!;
      expect(at(0, 1, y, x)).toBeCloseTo(orig, 6);
      if (m.masked[16 + j] === 1) expect(at(1, 1, y, x)).toBe(0.5);
      else {
        expect(at(1, 1, y, x)).toBeCloseTo(orig, 6);
        expect(at(2, 1, y, x)).toBeCloseTo(orig, 6); // visible patches pasted back
      }
    }
    encoder.dispose();
  }, 60_000);

  it('refuses a non-ViT encoder with one line naming --encoder vit, and is registered with the paper defaults', async () => {
    const encoder = createConvNet({ inputShape: [16, 16, 1], widths: [4, 8], seed: 0 });
    await expect(train({ task: maeTask, encoder, source, config: { epochs: 1, batchSize: 8 } })).rejects.toThrow(
      /^MAE needs a ViT encoder .*Use --encoder vit\.$/,
    );
    encoder.dispose();
    const r = createRegistry().use(contextTasks);
    expect(r.get('mae').family).toBe('context');
    expect(r.get('mae').modality).toBe('image');
    expect(r.get('mae').defaultEncoder).toBe('vit');
    expect(r.parseConfig('mae', {})).toEqual({ maskRatio: 0.75, normPixLoss: true, decoderDim: 64, decoderDepth: 2, decoderHeads: 4 });
  });
});
