// The bench's SimCLR training step, shared by run.mjs, kernel-times.mjs and resnet-probe.mjs:
// `encoder` (trained through applyForTraining), a projection head Dense(hidden)-ReLU-Dense(out)
// with seeded weights, NT-Xent (τ = 0.5) between the two halves of `views`, Adam 1e-3; forward,
// backward and update. `step()` resolves to the loss; `dispose()` frees the head and the optimizer
// (the caller owns the encoder and the views).
import * as tf from '@tensorflow/tfjs';
import { Optimizer, applyForTraining } from '@ssl/core';
import { ntXentLoss } from '@ssl/contrastive';

export function simclrStep(encoder, views, [hidden, out]) {
  const head = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [encoder.outputs[0].shape[1]],
        units: hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
      tf.layers.dense({ units: out, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read());
  const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
  const step = async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const [z1, z2] = tf.split(head.apply(applyForTraining(encoder, views)), 2, 0);
        return ntXentLoss(z1, z2, 0.5);
      }, vars);
      opt.apply(
        vars.map((v) => grads[v.name]),
        1e-3,
      );
      return value;
    });
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  };
  const dispose = () => {
    opt.dispose();
    head.dispose();
  };
  return { step, dispose };
}
