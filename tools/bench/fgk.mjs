import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
const threads = Number(process.argv[2]);
await initBackend({ backend: 'wasm', threads });
const med = (xs) => xs.sort((p, q) => p - q)[xs.length >> 1].toFixed(1);
const out = [];
for (const [hw, ci, co] of [[28, 1, 32], [14, 32, 64], [7, 64, 128]]) {
  const x = tf.randomNormal([512, hw, hw, ci]); const dy = tf.randomNormal([512, hw, hw, co]);
  const a = tf.randomNormal([512, hw, hw, co]); const f = tf.randomNormal([3, 3, co, co]);
  const ts = [], ta = [];
  for (let i = 0; i < 9; i++) {
    let t0 = performance.now();
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, ci, co] }).dispose();
    ts.push(performance.now() - t0);
    tf.conv2d(a, f, 1, 'same').dispose();
    t0 = performance.now();
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, ci, co] }).dispose();
    ta.push(performance.now() - t0);
  }
  out.push(`${hw}x${hw} ${ci}->${co}: ${med(ts)} ms (after XNNPACK op ${med(ta)})`);
  tf.dispose([x, dy, a, f]);
}
console.log(`threads ${threads}: ` + out.join('; '));
