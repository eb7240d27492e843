import * as tf from '@tensorflow/tfjs';
import { Optimizer, applyForTraining, initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { ntXentLoss } from '@ssl/contrastive';
await initBackend({ backend: 'wasm', threads: Number(process.argv[2] ?? 2) });
const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 0 });
const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [128], units: 128, activation: 'relu' }), tf.layers.dense({ units: 64 })] });
const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read());
const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
const views = tf.randomUniform([512, 28, 28, 1], 0, 1, 'float32', 3);
const step = async () => { const loss = tf.tidy(() => { const { value, grads } = tf.variableGrads(() => { const [z1, z2] = tf.split(head.apply(applyForTraining(encoder, views)), 2, 0); return ntXentLoss(z1, z2, 0.5); }, vars); opt.apply(vars.map((v) => grads[v.name]), 1e-3); return value; }); await loss.data(); loss.dispose(); };
for (let i = 0; i < 12; i++) { const t0 = performance.now(); await step(); if (i > 1) process.stdout.write(`${(performance.now() - t0).toFixed(0)} `); }
console.log();
