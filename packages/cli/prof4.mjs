import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
await initBackend();
const enc = createConvNet({ seed: 0 });
const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [128], units: 4 })] });
const x = tf.randomUniform([256, 28, 28, 1]); const y = tf.oneHot(tf.randomUniform([256], 0, 4, 'int32'), 4);
const vars = [...enc.trainableWeights, ...head.trainableWeights].map(w => w.read());
const step = () => tf.tidy(() => { const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, head.apply(enc.apply(x, { training: true }))), vars); return value; });
step().dispose();
const prof = await tf.profile(() => step());
const agg = {};
for (const k of prof.kernels) { const t = await k.kernelTimeMs; agg[k.name] = (agg[k.name] ?? 0) + (typeof t === 'number' ? t : 0); }
const tot = Object.values(agg).reduce((a, b) => a + b, 0);
console.log('total kernel ms', tot.toFixed(0));
for (const [k, v] of Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(k.padEnd(28), v.toFixed(1));
const t0 = performance.now(); for (let i = 0; i < 3; i++) step().dispose(); console.log('wall per step', ((performance.now() - t0) / 3).toFixed(0));
