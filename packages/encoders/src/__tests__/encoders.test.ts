import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConvNet, createEncoder, createMlp, createResNet18Small, featureDim, loadLayersModel, saveLayersModel } from '../index';

beforeAll(async () => {
  await initBackend();
});

const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => [...w.dataSync()]);

describe('encoders', () => {
  it('produce feature vectors of the documented size', () => {
    const conv = createConvNet({ seed: 0 });
    expect(tf.tidy(() => (conv.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape)).toEqual([2, 128]);
    expect(featureDim(conv)).toBe(128);
    // The benchmark layout: 3 convs without bias, 3 batch norms, 2 max-pools, global average pool.
    const kinds = conv.layers.map((l) => l.getClassName());
    expect(kinds.filter((k) => k === 'Conv2D')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'BatchNormalization')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'MaxPooling2D')).toHaveLength(2);
    expect(kinds.at(-1)).toBe('GlobalAveragePooling2D');
    const res = createResNet18Small({ widths: [8, 8, 16, 16], seed: 0 });
    expect(tf.tidy(() => (res.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape)).toEqual([2, 16]);
    expect(res.layers.filter((l) => l.getClassName() === 'Add')).toHaveLength(8);
    const mlp = createMlp({ inputShape: [4, 4, 1], hidden: [8], outputDim: 5, seed: 0 });
    expect(tf.tidy(() => (mlp.predict(tf.zeros([3, 4, 4, 1])) as tf.Tensor).shape)).toEqual([3, 5]);
  });

  it('the same seed gives identical weights, another seed different ones', () => {
    expect(flat(createConvNet({ seed: 4 }))).toEqual(flat(createConvNet({ seed: 4 })));
    expect(flat(createConvNet({ seed: 4 }))).not.toEqual(flat(createConvNet({ seed: 5 })));
  });

  it('save → load round-trips in the tfjs layers format', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ssl-enc-')), 'encoder');
    const m = createConvNet({ widths: [4, 8, 8], seed: 1 });
    await saveLayersModel(m, dir);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.length).toBe(m.weights.length);
    const loaded = await loadLayersModel(dir);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3);
    const a = (m.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect([...b]).toEqual([...a]);
    await expect(loadLayersModel('/no/such/model')).rejects.toThrow(/No TensorFlow.js model at "\/no\/such\/model\/model.json"/);
  });

  it('a gradient step works on the active backend and changes the weights', () => {
    const m = createConvNet({ widths: [4, 8, 8], seed: 2 });
    const before = flat(m);
    const opt = tf.train.sgd(0.1);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1);
    opt.minimize(() => (m.apply(x, { training: true }) as tf.Tensor).square().mean() as tf.Scalar);
    const after = flat(m);
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    expect(after.every(Number.isFinite)).toBe(true);
  });

  it('the catalogue validates configs, naming the field and value', () => {
    expect(() => createEncoder('convnet', { widths: [0] }, [28, 28, 1], 0)).toThrow(/field "widths.0" = 0/);
    expect(() => createEncoder('vgg', {}, [28, 28, 1], 0)).toThrow(/Unknown encoder "vgg". Must be one of \[mlp, convnet, resnet18\]/);
    expect(featureDim(createEncoder('mlp', { outputDim: 7 }, [4], 0))).toBe(7);
  });

  it('repeated inference inside tf.tidy leaks no tensors', () => {
    const m = createConvNet({ widths: [4, 8, 8], seed: 3 });
    const x = tf.zeros([2, 28, 28, 1]);
    tf.tidy(() => {
      m.predict(x);
    });
    const n = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(m.predict(x));
    expect(tf.memory().numTensors).toBe(n);
  });
});
