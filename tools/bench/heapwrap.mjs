// Dev probe helper: wraps every wasm kernel to report which one grows the heap (HEAPWRAP=2).
import * as tf from '@tensorflow/tfjs';
export function wrapAll() {
  const wasm = () => tf.backend().wasm;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const before = wasm().HEAPU8.buffer.byteLength;
        globalThis.__kernel = k.kernelName + JSON.stringify(Object.values(args.inputs).map((t) => t?.shape));
        const out = f(args);
        const after = wasm().HEAPU8.buffer.byteLength;
        if (after > before && process.env.HEAPWRAP === '2')
          console.log(
            `grow ${k.kernelName} ${JSON.stringify(Object.values(args.inputs).map((t) => t?.shape))} ${JSON.stringify(args.attrs?.strides ?? '')} : ${(before / 2 ** 20) | 0} -> ${(after / 2 ** 20) | 0} MB, tensor bytes ${(tf.memory().numBytes / 2 ** 20) | 0} MB n=${tf.memory().numTensors}`,
          );
        return out;
      },
    });
  }
}
