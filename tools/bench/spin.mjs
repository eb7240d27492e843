import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
await initBackend({ backend: 'wasm', threads: 2 });
const x = tf.randomNormal([512, 28, 28, 32]); const c = tf.randomNormal([32]);
const a = tf.randomNormal([256, 256]);
const t = (f) => { const t0 = performance.now(); const r = f(); const dt = performance.now() - t0; r.dispose(); return dt; };
const med = (xs) => xs.sort((p, q) => p - q)[xs.length >> 1].toFixed(2);
for (let k = 0; k < 3; k++) {
  const alone = [], after = [], gap = [];
  for (let i = 0; i < 15; i++) {
    alone.push(t(() => tf.mul(x, c)));
    t(() => tf.matMul(a, a)); after.push(t(() => tf.mul(x, c)));
    t(() => tf.matMul(a, a)); const t0 = performance.now(); while (performance.now() - t0 < 30); gap.push(t(() => tf.mul(x, c)));
  }
  console.log(`channel mul alone ${med(alone)} ms, right after an XNNPACK op ${med(after)} ms, 30 ms after ${med(gap)} ms`);
}
