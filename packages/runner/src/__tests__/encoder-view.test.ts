import * as tf from '@tensorflow/tfjs';
import { initBackend, type ImageBatch } from '@ssl/core';
import { colorizationTask } from '@ssl/context';
import { cmcTask } from '@ssl/contrastive';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures } from '@ssl/eval';
import { builtinCatalogue } from '../catalogue';
import { buildRunConfig } from '../config';
import { taskView, viewSource } from '../pipeline';

beforeAll(async () => {
  await initBackend();
});

describe('encoderView: the runner probes the encoder on the input it was trained on', () => {
  it('the view applies to every train and test batch of the probe splits', async () => {
    const { dataset, arg } = builtinCatalogue().datasets.resolve('mnist');
    // Features = each image's mean pixel, so the view's effect is exact.
    const encoder = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [28, 28, 1] })] });
    const splits = dataset.probeSplits(arg, { seed: 0, trainLimit: 20, testLimit: 10, inputShape: [28, 28, 1] });
    const invert = (raw: unknown) => {
      const b = raw as ImageBatch;
      return { ...b, images: b.images.map((v) => 1 - v) };
    };
    const features = async (view?: (raw: unknown) => unknown) => ({
      train: await extractFeatures(encoder, viewSource(splits.train, view)),
      test: await extractFeatures(encoder, viewSource(splits.test, view)),
    });
    const plain = await features();
    const viewed = await features(invert);
    for (const split of ['train', 'test'] as const) {
      expect(viewed[split].n).toBe(plain[split].n);
      expect(Array.from(viewed[split].labels!)).toEqual(Array.from(plain[split].labels!));
      plain[split].features.forEach((v, i) => expect(viewed[split].features[i]).toBeCloseTo(1 - v, 5));
    }
    encoder.dispose();
  });

  it('binds each task’s own view: colorization and CMC see L copied to 3 channels; tasks without one see raw batches', () => {
    const rgb = Float32Array.of(1, 0, 0, 0, 0, 1);
    const raw: ImageBatch = { modality: 'image', images: rgb, n: 1, height: 1, width: 2, channels: 3, indices: new Int32Array(1) };
    const registry = builtinCatalogue().tasks;
    for (const task of [colorizationTask, cmcTask]) {
      const view = taskView(task, registry.parseConfigOf(task.name, {}))!;
      const out = view(raw) as ImageBatch;
      // L of pure red ≈ 53.24, of pure blue ≈ 32.30 (CIE Lab, D65).
      expect(Array.from(out.images).map((v) => Number(v.toFixed(3)))).toEqual([0.532, 0.532, 0.532, 0.323, 0.323, 0.323]);
    }
    expect(taskView(registry.find('rotation'), {})).toBeUndefined();
  });

  it('a task’s default encoder is used when --encoder is not given', () => {
    const registry = builtinCatalogue();
    expect(buildRunConfig(registry, { method: 'split-brain', dataset: 'mnist' }).encoder).toBe('split-convnet');
    expect(buildRunConfig(registry, { method: 'split-brain', dataset: 'mnist', encoder: 'convnet' }).encoder).toBe('convnet');
    expect(buildRunConfig(registry, { method: 'colorization', dataset: 'mnist' }).encoder).toBe('convnet');
  });
});
