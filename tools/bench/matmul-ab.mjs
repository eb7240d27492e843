#!/usr/bin/env node
// A/B of the wasm matrix-product kernels in one process: one method's training step (benchmark
// ConvNet, or the ViT for MAE and with `vit`; 128 images of 28×28, forward + backward, no optimiser)
// with tfjs-wasm's native BatchMatMul/_FusedMatMul against the ones @ssl/core registers (transposed
// operands copied contiguous first, batched products of large matrices one matrix at a time). Steps
// alternate between the two, so both see the same machine load.
//
//   SSL_THREADS=1 node tools/bench/matmul-ab.mjs barlow-twins [steps]
//   SSL_THREADS=1 node tools/bench/matmul-ab.mjs mae [steps]
//   SSL_THREADS=1 node tools/bench/matmul-ab.mjs dino [steps] vit
// SSL_THREADS sets the wasm threads (default 1).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, Rng, applyForTraining } from '@ssl/core';
import { createConvNet, createVit } from '@ssl/encoders';
import * as contrastive from '@ssl/contrastive';
import * as context from '@ssl/context';
const native = Object.fromEntries(['BatchMatMul', '_FusedMatMul'].map((k) => [k, tf.getKernel(k, 'wasm')]));
await initBackend({ backend: 'wasm', threads: Number(process.env.SSL_THREADS ?? 1) });
const wrapped = Object.fromEntries(['BatchMatMul', '_FusedMatMul'].map((k) => [k, tf.getKernel(k, 'wasm')]));
const use = (set) => {
  for (const cfg of Object.values(set)) {
    tf.unregisterKernel(cfg.kernelName, 'wasm');
    tf.registerKernel(cfg);
  }
};
const name = process.argv[2];
const N = 128;
const C = { ...contrastive, maeTask: context.maeTask };
const task = Object.values(C).find((t) => t && t.name === name && t.loss && t.modality === 'image');
if (!task) {
  const names = Object.values(C)
    .filter((t) => t && t.loss && t.modality === 'image')
    .map((t) => t.name);
  console.error(`matmul-ab: "${name}" is not an image method of @ssl/contrastive or mae. Use one of [${names.join(', ')}].`);
  process.exit(2);
}
const config = task.config.parse({});
const vit = task.defaultEncoder === 'vit' || process.argv[4] === 'vit';
const encoder = vit ? createVit({ inputShape: [28, 28, 1], seed: 0 }) : createConvNet({ inputShape: [28, 28, 1], widths: [32, 64, 128], seed: 0 });
const heads = task.createHeads({ featureDim: encoder.outputs[0].shape.at(-1), inputShape: [28, 28, 1], config, seed: 0, encoder });
const state = task.createState?.({ encoder, heads, config, seed: 0 });
const raw = { modality: 'image', images: new Float32Array(N * 784).map((_, i) => ((i * 7919) % 1000) / 1000), n: N, height: 28, width: 28, channels: 1 };
const vars = [...encoder.trainableWeights, ...Object.values(heads).flatMap((h) => h.trainableWeights)].map((w) => w.val);
const step = async () => {
  const s = performance.now();
  const v = tf.tidy(() => {
    const b = task.prepare(raw, { config, rng: new Rng('x'), training: true });
    const r = tf.variableGrads(() => task.loss({ config, encoder, heads, batch: b, state, training: true, encode: (x) => applyForTraining(encoder, x) }), vars);
    tf.dispose(Object.values(r.grads));
    return r.value;
  });
  await v.data();
  v.dispose();
  return performance.now() - s;
};
const t = { native: [], wrapped: [] };
for (let i = 0; i < 2; i++) {
  use(native);
  await step();
  use(wrapped);
  await step();
}
const steps = Number(process.argv[3] ?? 6);
for (let i = 0; i < steps; i++)
  for (const [k, set] of [
    ['native', native],
    ['wrapped', wrapped],
  ]) {
    use(set);
    t[k].push(await step());
  }
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(
  `${name}: native ${med(t.native).toFixed(0)} ms, contiguous ${med(t.wrapped).toFixed(0)} ms per step (forward + backward, ${N} images${vit ? ', ViT' : ''}); speed-up ${(med(t.native) / med(t.wrapped)).toFixed(2)}×`,
);
process.exit(0);
