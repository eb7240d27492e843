import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
import { createResNet18Small } from '@ssl/encoders';
await initBackend({ backend: 'wasm' });
const encoder = createResNet18Small({ inputShape: [32, 32, 3], width: 1, seed: 0 });
const x = tf.randomUniform([16, 32, 32, 3]);
const eng = tf.engine();
eng.startTape();
eng.state.gradientDepth++;
const y = eng.tidy('forward', () => encoder.apply(x, { training: true }).square().mean());
const seen = new Set(); const agg = new Map(); let total = 0;
for (const n of eng.state.activeTape.slice(0, 40)) {
  console.log(n.kernelName, Object.values(n.inputs).map(t=>t.shape.join('x')).join(','), '-> saved', (n.saved??[]).map(t => t.shape.join('x') + (seen.has(t.dataId) ? '(dup)' : '')).join(', '));
  for (const t of n.saved ?? []) seen.add(t.dataId);
}
