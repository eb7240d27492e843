// Probe: ResNet-18 SimCLR steps on wasm; prints the wasm heap, the peak of live tensor bytes per
// step and, with PROFILE=1 as the 5th argument, per-kernel times of the last step.
// node tools/bench/resnet-probe.mjs HALF SIZE WIDTH STEPS [PROFILE]   e.g. 128 32 1 1
// HEAPWRAP=2 prints every kernel that grows the heap.
import * as tf from '@tensorflow/tfjs';
import { initBackend, resetWasmHeapPeak, wasmHeapStats } from '@ssl/core';
import { createResNet18Small } from '@ssl/encoders';
import { simclrStep } from './simclr-step.mjs';
const [half = 64, size = 32, width = 1, steps = 2, profile = 0] = process.argv.slice(2).map(Number);
await initBackend({ backend: 'wasm' });
if (process.env.HEAPWRAP) (await import('./heapwrap.mjs')).wrapAll();
const wasm = tf.backend().wasm;
const heap = () => wasm.HEAPU8.buffer.byteLength;
const encoder = createResNet18Small({ inputShape: [size, size, 3], width, seed: 0 });
const views = tf.randomUniform([2 * half, size, size, 3], 0, 1, 'float32', 3);
const { step } = simclrStep(encoder, views, [512, 128]);
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
