// experiment: wall time vs kernel time for the standard step at N threads
import * as tf from '@tensorflow/tfjs';
import { Optimizer, applyForTraining, initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { ntXentLoss } from '@ssl/contrastive';
const threads = Number(process.argv[2] ?? 1);
await initBackend({ backend: 'wasm', threads });
const HALF = 256;
const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 0 });
const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [128], units: 128, activation: 'relu' }), tf.layers.dense({ units: 64 })] });
const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read());
const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
const views = tf.randomUniform([2 * HALF, 28, 28, 1], 0, 1, 'float32', 3);
const step = async () => {
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const z = head.apply(applyForTraining(encoder, views));
      const [z1, z2] = tf.split(z, 2, 0);
      return ntXentLoss(z1, z2, 0.5);
    }, vars);
    opt.apply(vars.map((v) => grads[v.name]), 1e-3);
    return value;
  });
  await loss.data();
  loss.dispose();
};
for (let i = 0; i < 2; i++) await step();
const ts = [];
for (let i = 0; i < 8; i++) { const t0 = performance.now(); await step(); ts.push(performance.now() - t0); }
ts.sort((a, b) => a - b);
// kernel-level timing by wrapping every registered kernel
const kt = new Map(); let total = 0; let count = 0; let depth = 0;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: (a) => { if (depth) return f(a); depth++; const t0 = performance.now(); try { return f(a); } finally { depth--; const dt = performance.now() - t0; total += dt; count++; const key = k.kernelName + ' ' + Object.values(a.inputs).map((t) => t?.shape?.join('x')).join(','); kt.set(key, (kt.get(key) ?? 0) + dt); } } });
}
const N = 4; const w0 = performance.now();
for (let i = 0; i < N; i++) await step();
const wall = (performance.now() - w0) / N;
console.log(`threads ${threads}: step median ${ts[4].toFixed(0)} ms (min ${ts[0].toFixed(0)}, max ${ts.at(-1).toFixed(0)}); instrumented wall ${wall.toFixed(0)} ms, kernels ${(total / N).toFixed(0)} ms in ${count / N} calls`);
for (const [k, v] of [...kt].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`  ${k.padEnd(40)} ${(v / N).toFixed(1)}`);
