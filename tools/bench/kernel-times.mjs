#!/usr/bin/env node
// Wall time of every wasm kernel in the bench's standard step (2 × 256 views, ConvNet, NT-Xent,
// Adam), by kernel and input shapes, as self time: a kernel that calls others (a convolution
// gradient computed as a convolution) is charged only for its own work, so the rows add up to
// the time spent in kernels. Unlike `npm run bench -- --profile` (tf.profile), nothing is counted
// twice. Run after `npm run build`, on an otherwise idle machine:
//   node tools/bench/kernel-times.mjs [--threads N] [--steps N] [--top N]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { simclrStep } from './simclr-step.mjs';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '1' }, steps: { type: 'string', default: '5' }, top: { type: 'string', default: '30' } },
});
const [threads, steps, top] = [values.threads, values.steps, values.top].map(Number);
for (const [name, v] of Object.entries({ threads, steps, top })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`kernel-times: --${name} ${values[name]} is not a whole number ≥ 1; e.g. --${name} 2`);
    process.exit(1);
  }
}
const info = await initBackend({ backend: 'wasm', threads });
const HALF = 256;
const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 0 });
const views = tf.randomUniform([2 * HALF, 28, 28, 1], 0, 1, 'float32', 3);
const { step } = simclrStep(encoder, views, [128, 64]);
for (let i = 0; i < 3; i++) await step();

// Self time per kernel: each call's wall time minus that of the kernels it calls.
const totals = new Map();
const stack = [];
let timing = false;
for (const k of tf.getKernelsForBackend('wasm')) {
  const run = k.kernelFunc;
  k.kernelFunc = (args) => {
    if (!timing) return run(args);
    stack.push(0);
    const t0 = performance.now();
    try {
      return run(args);
    } finally {
      const dt = performance.now() - t0;
      const children = stack.pop();
      if (stack.length) stack[stack.length - 1] += dt;
      const shapes = Object.values(args.inputs)
        .map((t) => (t ? t.shape.join('×') + (t.dtype === 'float32' ? '' : ` ${t.dtype}`) : '-'))
        .join(', ');
      const key = `${k.kernelName} ${shapes}`;
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += dt - children;
      e.calls++;
      totals.set(key, e);
    }
  };
}
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await step();
const stepMs = (performance.now() - t0) / steps;
timing = false;
const rows = [...totals].map(([key, e]) => ({ key, ms: e.ms / steps, calls: e.calls / steps })).sort((a, b) => b.ms - a.ms);
const inKernels = rows.reduce((a, r) => a + r.ms, 0);
console.log(`wasm, ${info.threads} thread(s): ${stepMs.toFixed(1)} ms per step (mean of ${steps}), ${inKernels.toFixed(1)} ms of it in kernels`);
for (const r of rows.slice(0, top))
  console.log(`${r.ms.toFixed(2).padStart(8)} ms  ${((100 * r.ms) / stepMs).toFixed(1).padStart(5)} %  ×${r.calls}  ${r.key}`);
