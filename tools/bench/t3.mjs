import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
const threads = Number(process.argv[2] ?? 2);
const info = await initBackend({ backend: 'wasm', threads, log: console.log });
const x = tf.randomNormal([16, 16, 16, 32], 0, 1, 'float32', 1);
const w = tf.randomNormal([3, 3, 32, 64], 0, 1, 'float32', 2);
const f = () => tf.tidy(() => {
  const y = tf.conv2d(x, w, 2, 'same');
  const [gx, gw] = tf.grads((a, b) => tf.conv2d(a, b, 1, 'same').square().sum())([x, w]);
  return [y, gx, gw].map(t => t.dataSync());
});
const t0 = performance.now(); const r = f(); const t1 = performance.now();
for (let i = 0; i < 3; i++) f();
console.log('threads', info.threads, 'ms', ((performance.now() - t1) / 3).toFixed(0), r.map(a => a.reduce((s, v) => s + v, 0).toFixed(4)).join(' '));
