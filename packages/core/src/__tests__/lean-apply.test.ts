import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { applyForTraining } from '../lean-apply';

/** A residual stack of conv → ReLU pairs with one batch norm, then a Sequential head. */
function makeModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const conv = (seed: number) => tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(seed) });
  const input = tf.input({ shape: [16, 16, 3] });
  const x = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(conv(1).apply(input))) as tf.SymbolicTensor;
  let h = x;
  for (const seed of [2, 3, 4, 5]) h = tf.layers.reLU().apply(conv(seed).apply(h)) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(tf.layers.add().apply([h, x])) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 4, kernelInitializer: init(6) })] });
  return tf.model({ inputs: input, outputs: head.apply(pooled) as tf.SymbolicTensor });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('applyForTraining', () => {
  it('gives bit-identical outputs, gradients and batch-norm statistics to model.apply, and leaks nothing (the peak is tested on ResNet-18 in @ssl/encoders)', () => {
    const x = tf.randomUniform([8, 16, 16, 3], -1, 1, 'float32', 7);
    const run = (forward: (m: tf.LayersModel) => tf.Tensor) => {
      const model = makeModel();
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(forward(model))), vars);
      const out = {
        loss: value.dataSync()[0]!,
        grads: vars.map((v) => Array.from(grads[v.name]!.dataSync())),
        moving: model.getWeights(false).map((w) => Array.from(w.dataSync())),
      };
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      return out;
    };
    const plain = run((m) => m.apply(x, { training: true }) as tf.Tensor);
    const lean = run((m) => applyForTraining(m, x) as tf.Tensor);
    expect(lean.loss).toBe(plain.loss);
    expect(lean.grads).toEqual(plain.grads);
    expect(lean.moving).toEqual(plain.moving);
    x.dispose();
  });

  it('leaves the caller’s input alive and works on a Sequential model', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.ones() }), tf.layers.reLU()] });
    const x = tf.tensor2d([[1, 2, 3]]);
    const y = applyForTraining(model, x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([6, 6]);
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, y]);
    model.dispose();
  });
});
