import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { createResNet18Small } from '@ssl/encoders';
await initBackend({ backend: 'wasm' });
const encoder = createResNet18Small({ inputShape: [32, 32, 3], width: 1, seed: 0 });
const vars = encoder.trainableWeights.map((w) => w.read());
const views = tf.randomUniform([16, 32, 32, 3], 0, 1, 'float32', 3);
const prof = await tf.profile(() => { tf.tidy(() => { const { value, grads } = tf.variableGrads(() => encoder.apply(views, { training: true }).square().mean(), vars); }); });
const agg = new Map();
let phase = 'fwd';
for (const k of prof.kernels) { const key = k.name + ' ' + (k.inputShapes[0]?.join('x')); const a = agg.get(key) ?? { n: 0, bytes: 0 }; a.n++; a.bytes += k.totalBytesSnapshot ?? 0; agg.set(key, a); }
console.log(prof.kernels.slice(0, 40).map(k => `${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)} +${(k.bytesAdded/2**20).toFixed(1)}MB`).join('\n'));
