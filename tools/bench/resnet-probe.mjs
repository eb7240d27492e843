// Probe: ResNet-18 SimCLR steps on wasm; prints the wasm heap, the peak of live tensor bytes per
// step and, with PROFILE=1 as the 5th argument, per-kernel times of the last step.
// node tools/bench/resnet-probe.mjs HALF SIZE WIDTH STEPS [PROFILE]   e.g. 128 32 1 1
// HEAPWRAP=2 prints every kernel that grows the heap.
import * as tf from '@tensorflow/tfjs';
import { Optimizer, applyForTraining, initBackend, resetWasmHeapPeak, wasmHeapStats } from '@ssl/core';
import { createResNet18Small } from '@ssl/encoders';
import { ntXentLoss } from '@ssl/contrastive';
const [half = 64, size = 32, width = 1, steps = 2, profile = 0] = process.argv.slice(2).map(Number);
await initBackend({ backend: 'wasm' });
if (process.env.HEAPWRAP) (await import('./heapwrap.mjs')).wrapAll();
const wasm = tf.backend().wasm;
const heap = () => wasm.HEAPU8.buffer.byteLength;
const encoder = createResNet18Small({ inputShape: [size, size, 3], width, seed: 0 });
const fd = encoder.outputs[0].shape[1];
const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [fd], units: 512, activation: 'relu' }), tf.layers.dense({ units: 128 })] });
const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read());
const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
const views = tf.randomUniform([2 * half, size, size, 3], 0, 1, 'float32', 3);
const step = async () => {
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const z = head.apply(applyForTraining(encoder, views));
      const [z1, z2] = tf.split(z, 2, 0);
      return ntXentLoss(z1, z2, 0.5);
    }, vars);
    opt.apply(
      vars.map((v) => grads[v.name]),
      1e-3,
    );
    return value;
  });
  const l = (await loss.data())[0];
  loss.dispose();
  return l;
};
console.log(`start heap ${(heap() / 2 ** 20).toFixed(0)} MB, tensors ${tf.memory().numTensors}`);
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  let prof;
  resetWasmHeapPeak();
  if (profile && i === steps - 1) {
    prof = await tf.profile(step);
  } else await step();
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `step ${i}: ${dt.toFixed(2)} s, ${((2 * half) / dt).toFixed(1)} img/s, heap ${(heap() / 2 ** 20).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB, tensors ${tf.memory().numTensors}, tensor peak ${(wasmHeapStats().peakBytes / 2 ** 20).toFixed(0)} MB (live between steps ${(wasmHeapStats().liveBytes / 2 ** 20).toFixed(0)} MB)`,
  );
  if (prof) {
    const agg = new Map();
    for (const k of prof.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const a = agg.get(key) ?? { t: 0, n: 0 };
      a.t += k.kernelTimeMs;
      a.n++;
      agg.set(key, a);
    }
    const byName = new Map();
    for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + k.kernelTimeMs);
    console.log(
      [...byName]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([k, t]) => `${k}: ${t.toFixed(0)} ms`)
        .join('\n'),
    );
    console.log('--- top kernel+shape');
    console.log(
      [...agg]
        .sort((a, b) => b[1].t - a[1].t)
        .slice(0, 25)
        .map(([k, a]) => `${a.t.toFixed(0)} ms x${a.n} ${k}`)
        .join('\n'),
    );
  }
}
