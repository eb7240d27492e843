import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train, type ImageBatch } from '@ssl/core';
import { ImageDataset, rgbToLab } from '@ssl/data';
import { createConvNet, createSplitConvNet, splitGroups } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { abBins, contextTasks, labView, quantiseLightness, splitBrainBatch, splitBrainTask, splitTowers } from '../index';

beforeAll(async () => {
  await initBackend();
});

const H = 8;
const randomImages = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * H * H * 3 }, () => rng.float());
};

/** Replaces channels `channels` of NHWC data (3 channels) with new random values. */
function perturb(x: Float32Array, channels: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = Float32Array.from(x);
  for (let p = 0; p < out.length / 3; p++) for (const c of channels) out[3 * p + c] = rng.float();
  return out;
}

describe('split-brain: the split encoder', () => {
  let encoder: tf.LayersModel;
  beforeAll(() => {
    encoder = createSplitConvNet({ inputShape: [H, H, 3], widths: [4, 6], seed: 2 });
  });
  const features = (x: Float32Array) => tf.tidy(() => Array.from((encoder.predict(tf.tensor4d(x, [2, H, H, 3])) as tf.Tensor).dataSync()));

  it('each half sees only its own channel group (L = channel 0, ab = channels 1-2)', () => {
    expect(splitGroups(encoder)).toEqual([[0], [1, 2]]);
    const x = randomImages(2, 1);
    const base = features(x);
    // Per image: features[0..5] come from the L tower, features[6..11] from the ab tower.
    const split = (f: number[]) => ({ l: [...f.slice(0, 6), ...f.slice(12, 18)], ab: [...f.slice(6, 12), ...f.slice(18, 24)] });
    expect(base).toHaveLength(24);
    const abChanged = split(features(perturb(x, [1, 2], 7)));
    const lChanged = split(features(perturb(x, [0], 8)));
    const b = split(base);
    // Changing ab leaves the L half exactly as it was and changes the ab half, and vice versa.
    expect(abChanged.l).toEqual(b.l);
    expect(abChanged.ab).not.toEqual(b.ab);
    expect(lChanged.ab).toEqual(b.ab);
    expect(lChanged.l).not.toEqual(b.l);
  });

  it('the task reaches both towers’ feature maps and rejects an encoder that is not split L | ab', () => {
    const towers = splitTowers(encoder);
    expect(towers.outputs.map((o) => o.shape)).toEqual([
      [null, H / 2, H / 2, 6],
      [null, H / 2, H / 2, 6],
    ]);
    expect(() => splitTowers(createConvNet({ inputShape: [H, H, 3], widths: [4], seed: 0 }))).toThrow(/groups \[\[0\], \[1, 2\]\].*groups \[\]/);
    const other = createSplitConvNet({ inputShape: [H, H, 3], groups: [[0, 1], [2]], widths: [4], seed: 0 });
    expect(() => splitTowers(other)).toThrow(/\[\[0,1\],\[2\]\]/);
    other.dispose();
    expect(() => createSplitConvNet({ inputShape: [H, H, 3], groups: [[0], [0, 1]], seed: 0 })).toThrow(/share channel 0/);
  });
});

describe('split-brain: data construction', () => {
  it('the encoder view is Lab scaled to [0, 1]; the targets are the real L and ab channels', () => {
    const rgb = randomImages(1, 4);
    const raw: ImageBatch = { modality: 'image', images: rgb, n: 1, height: H, width: H, channels: 3, indices: new Int32Array(1) };
    const lab = rgbToLab(rgb);
    const { x, l, ab } = splitBrainBatch(raw);
    const [xs, ls, abs] = [x.dataSync(), l.dataSync(), ab.dataSync()];
    expect(Array.from(xs)).toEqual(Array.from(labView(raw).images));
    for (let p = 0; p < H * H; p++) {
      expect(xs[3 * p]).toBeCloseTo(lab[3 * p]! / 100, 6);
      expect(xs[3 * p + 1]).toBeCloseTo((lab[3 * p + 1]! + 128) / 255, 6);
      expect(ls[p]).toBeCloseTo(lab[3 * p]!, 3);
      expect(abs[2 * p]).toBeCloseTo(lab[3 * p + 1]!, 3);
      expect(abs[2 * p + 1]).toBeCloseTo(lab[3 * p + 2]!, 3);
    }
    tf.dispose([x, l, ab]);
  });

  it('quantises L into uniform bins of [0, 100]', () => {
    const q = quantiseLightness(tf.tensor1d([0, 1.99, 2, 49.9, 99.99, 100]), 50);
    expect(Array.from(q.dataSync())).toEqual([0, 0, 1, 24, 49, 49]);
    q.dispose();
  });
});

describe('split-brain: training', () => {
  it('is registered (default encoder split-convnet) and trains a few steps without leaking tensors', async () => {
    const r = createRegistry().use(contextTasks);
    expect(r.parseConfig('split-brain', {})).toEqual({ abBinSize: 10, lightnessBins: 50, hidden: 64 });
    expect(splitBrainTask.defaultEncoder).toBe('split-convnet');
    const rng = new Rng(3);
    const data = new ImageDataset({
      pixels: Uint8Array.from({ length: 16 * H * H * 3 }, () => Math.floor(rng.float() * 256)),
      n: 16,
      height: H,
      width: H,
      channels: 3,
    });
    const encoder = createSplitConvNet({ inputShape: [H, H, 3], widths: [4, 6], seed: 1 });
    const before = tf.memory().numTensors;
    const result = await train({ task: splitBrainTask, encoder, source: data, config: { epochs: 2, batchSize: 8, seed: 1 } });
    expect(result.history).toHaveLength(4);
    // Chance level of the two summed classifications: ln Q_ab + ln 50.
    expect(result.history[0]!.loss).toBeGreaterThan(0.5 * (Math.log(abBins(10).count) + Math.log(50)));
    expect(result.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    // The selection kernels are frozen: training leaves the groups intact.
    expect(splitGroups(encoder)).toEqual([[0], [1, 2]]);
    encoder.dispose();
  });
});
