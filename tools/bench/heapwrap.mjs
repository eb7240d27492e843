import * as tf from '@tensorflow/tfjs';
export function wrapAll() {
  const wasm = () => tf.backend().wasm;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: (args) => {
      const before = wasm().HEAPU8.buffer.byteLength; globalThis.__kernel = k.kernelName + JSON.stringify(Object.values(args.inputs).map(t=>t?.shape));
      if (process.env.HEAPWRAP === '3' && /Conv2D/.test(k.kernelName) && globalThis.__track) console.log(k.kernelName, JSON.stringify(Object.values(args.inputs).map(t=>t?.shape)), 'live', (globalThis.__track.live/2**20).toFixed(0), 'n', tf.memory().numTensors);
      const out = f(args);
      const after = wasm().HEAPU8.buffer.byteLength;
      if (after > before && process.env.HEAPWRAP === '2') console.log(`grow ${k.kernelName} ${JSON.stringify(Object.values(args.inputs).map(t=>t?.shape))} ${JSON.stringify(args.attrs?.strides ?? '')} : ${(before/2**20)|0} -> ${(after/2**20)|0} MB, tensor bytes ${(tf.memory().numBytes/2**20)|0} MB n=${tf.memory().numTensors}`);
      return out;
    }});
  }
}
export function trackMalloc() {
  const w = tf.backend().wasm;
  const sizes = new Map(); let live = 0, peak = 0;
  w._free(w._malloc(8)); // emscripten stubs replace themselves on first call
  const m = w._malloc, f = w._free;
  w._malloc = (n) => { const p = m(n); sizes.set(p, n); live += n; if (live > peak) { peak = live; globalThis.__peakAt = globalThis.__kernel; } return p; };
  w._free = (p) => { live -= sizes.get(p) ?? 0; sizes.delete(p); return f(p); };
  return globalThis.__track = { get live() { return live; }, get peak() { return peak; }, reset() { peak = live; } };
}
