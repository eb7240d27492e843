import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConvNet, createMlp, createResNet18Small, featureDim } from '../index';

beforeAll(async () => {
  await initBackend();
});

const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => [...w.dataSync()]);
const outShape = (m: tf.LayersModel, shape: number[]) => tf.tidy(() => (m.predict(tf.zeros(shape)) as tf.Tensor).shape);
const kinds = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
const trainableCount = (m: tf.LayersModel) => m.trainableWeights.reduce((n, w) => n + w.read().size, 0);

describe('createConvNet', () => {
  it('maps [2,28,28,1] to [2,128] with the benchmark layout', () => {
    const m = createConvNet({ seed: 0 });
    expect(outShape(m, [2, 28, 28, 1])).toEqual([2, 128]);
    expect(featureDim(m)).toBe(128);
    const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.map((l) => l.getConfig().filters)).toEqual([32, 64, 128]);
    expect(convs.every((l) => l.getConfig().useBias === false && JSON.stringify(l.getConfig().kernelSize) === '[3,3]')).toBe(true);
    expect(kinds(m).filter((k) => k === 'BatchNormalization')).toHaveLength(3);
    expect(kinds(m).filter((k) => k === 'MaxPooling2D')).toHaveLength(2);
    expect(kinds(m).at(-1)).toBe('GlobalAveragePooling2D');
  });
});

describe('createResNet18Small', () => {
  it('maps [2,32,32,3] to [2, widths[3]·width] and has the ResNet-18 structure', () => {
    const m = createResNet18Small({ width: 0.125, seed: 0 });
    expect(outShape(m, [2, 32, 32, 3])).toEqual([2, 64]);
    const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
    // stem + 8 blocks × 2 convs + 3 projection shortcuts (stages 2–4)
    expect(convs).toHaveLength(20);
    expect(convs.filter((l) => JSON.stringify(l.getConfig().kernelSize) === '[1,1]')).toHaveLength(3);
    expect(kinds(m).filter((k) => k === 'Add')).toHaveLength(8);
    expect(kinds(m)).not.toContain('MaxPooling2D');
    // stride 2 at stages 2–4 only: 32 → 4 spatially before pooling
    expect(m.layers.at(-2)!.outputShape).toEqual([null, 4, 4, 64]);
  });

  it('at full width outputs 512-d features with the reference parameter count', () => {
    const m = createResNet18Small({ seed: 0 });
    expect(featureDim(m)).toBe(512);
    // torchvision-style CIFAR ResNet-18 without its 10-way fc layer (11,173,962 − 5,130)
    expect(trainableCount(m)).toBe(11_168_832);
    m.dispose();
  });
});

describe('createMlp', () => {
  it('flattens its input and outputs [batch, outputDim]', () => {
    const m = createMlp({ inputShape: [4, 4, 1], hidden: [8, 6], outputDim: 5, seed: 0 });
    expect(outShape(m, [3, 4, 4, 1])).toEqual([3, 5]);
    expect(kinds(m)).toEqual(['InputLayer', 'Flatten', 'Dense', 'Dense', 'Dense']);
    expect(featureDim(createMlp({ inputShape: [10], seed: 0 }))).toBe(128);
  });
});

describe('seeding', () => {
  it('the same seed gives identical weights, another seed different ones', () => {
    for (const make of [
      (seed: number) => createConvNet({ widths: [4, 8, 8], seed }),
      (seed: number) => createResNet18Small({ width: 1 / 16, seed }),
      (seed: number) => createMlp({ inputShape: [6], hidden: [5], outputDim: 3, seed }),
    ]) {
      const a = flat(make(4));
      expect(a.some((v) => v !== 0)).toBe(true);
      expect(flat(make(4))).toEqual(a);
      expect(flat(make(5))).not.toEqual(a);
    }
  });
});

describe('option checks', () => {
  it('reject shapes and seeds that cannot work, naming the value', () => {
    expect(() => createConvNet({ inputShape: [784], seed: 0 })).toThrow(/Invalid convnet inputShape: \[784\]. Must be \[height, width, channels\]/);
    expect(() => createResNet18Small({ widths: [8, 16], seed: 0 })).toThrow(/Invalid resnet18 widths: \[8,16\]. Must list 4/);
    expect(() => createResNet18Small({ width: 0, seed: 0 })).toThrow(/Invalid resnet18 width: 0/);
    expect(() => createMlp({ inputShape: [4], seed: 1.5 })).toThrow(/Invalid mlp seed: 1.5. Must be an integer/);
  });
});
