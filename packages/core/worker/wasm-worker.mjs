// One worker of @ssl's wasm kernel pool (see packages/core/src/wasm-pool.ts): its own tfjs wasm
// (XNNPACK) instance, running one kernel on one chunk per job. Jobs arrive through a
// MessagePort read synchronously while the main thread blocks on Atomics; tensors travel in
// SharedArrayBuffers. Not an entry point for users.
import { workerData, receiveMessageOnPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@ssl/core';

const { port, control } = workerData;
const ctrl = new Int32Array(control); // [job sequence, done sequence, failed]
registerWasmTrainingKernels();
await tf.setBackend('wasm');
await tf.ready();
Atomics.store(ctrl, 1, -1); // ready
Atomics.notify(ctrl, 1);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  if (seen < 0) break;
  let msg = receiveMessageOnPort(port);
  while (!msg) msg = receiveMessageOnPort(port);
  const { kernel, inputs, attrs, out } = msg.message;
  try {
    const ts = {};
    for (const [name, t] of Object.entries(inputs)) ts[name] = tf.tensor(new Float32Array(t.buffer, t.offset, t.size), t.shape, 'float32');
    const y = tf.engine().runKernel(kernel, ts, attrs);
    new Float32Array(out.buffer, out.offset, out.size).set(y.dataSync());
    tf.dispose([y, ...Object.values(ts)]);
    Atomics.store(ctrl, 2, 0);
  } catch (e) {
    Atomics.store(ctrl, 2, 1);
    port.postMessage(String((e && e.message) || e));
  }
  Atomics.store(ctrl, 1, seen);
  Atomics.notify(ctrl, 1);
}
