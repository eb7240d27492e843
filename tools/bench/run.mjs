#!/usr/bin/env node
// `npm run bench`: throughput of the standard training step on every backend present.
// The standard step: 256 images × 2 views (512 per step), 28×28×1, the benchmark ConvNet,
// projection head Dense(128)-ReLU-Dense(64), NT-Xent (τ=0.5), Adam 1e-3; forward + backward +
// update, augmentations already materialised. Also: forward-only inference on 512 images, a
// 2048² matmul, and peak RSS. Medians over timed steps after warm-up.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, Optimizer, initBackend } from '@ssl/core';
import { createConvNet } from '@ssl/encoders';
import { ntXentLoss } from '@ssl/contrastive';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    backends: { type: 'string' },
    steps: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    'leak-steps': { type: 'string', default: '0' },
    'no-torch': { type: 'boolean' },
  },
});
const out = (s) => process.stdout.write(`${s}\n`);
const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const HALF = 256;

let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function timeIt(fn, steps, warmup) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
    sampleRss();
  }
  return median(times);
}

async function benchBackend(name, steps, warmup, leakSteps) {
  await initBackend({ backend: name });
  const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 0 });
  const head = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [128], units: 128, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }),
      tf.layers.dense({ units: 64, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const vars = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => w.read());
  const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, vars);
  const views = tf.randomUniform([2 * HALF, 28, 28, 1], 0, 1, 'float32', 3);
  const trainStep = async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const z = head.apply(encoder.apply(views, { training: true }));
        const [z1, z2] = tf.split(z, 2, 0);
        return ntXentLoss(z1, z2, 0.5);
      }, vars);
      opt.apply(vars.map((v) => grads[v.name]), 1e-3);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  const inferStep = async () => {
    const f = tf.tidy(() => encoder.apply(views, { training: false }));
    await f.data();
    f.dispose();
  };
  const n = 2048;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 4);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 5);
  const matmulStep = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  const trainSec = await timeIt(trainStep, steps, warmup);
  const inferSec = await timeIt(inferStep, steps, 1);
  const matmulSec = await timeIt(matmulStep, Math.min(steps, 5), 1);
  const result = {
    backend: name,
    steps,
    trainImagesPerSec: (2 * HALF) / trainSec,
    inferImagesPerSec: (2 * HALF) / inferSec,
    matmulGflops: (2 * n ** 3) / matmulSec / 1e9,
    peakRssMB: peakRss / 2 ** 20,
  };
  if (leakSteps > 0) {
    // Memory must be flat after warm-up: RSS and tensor count after 10% of the steps vs at the end.
    const rss = [];
    let tensorsAfterWarmup = 0;
    for (let i = 0; i < leakSteps; i++) {
      await trainStep();
      if (i === Math.floor(leakSteps / 10)) tensorsAfterWarmup = tf.memory().numTensors;
      if (i % 10 === 0) rss.push(process.memoryUsage().rss / 2 ** 20);
    }
    Object.assign(result, {
      leakSteps,
      rssAfterWarmupMB: rss[Math.floor(rss.length / 10)],
      rssEndMB: rss.at(-1),
      tensorsAfterWarmup,
      tensorsEnd: tf.memory().numTensors,
    });
  }
  tf.dispose([views, a, b]);
  opt.dispose();
  encoder.dispose();
  head.dispose();
  return result;
}

function torchReference(steps, warmup) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_step.py');
  // Debian's python3-torch lives beside the system Python, which may not be first on PATH.
  const python = ['python3', '/usr/bin/python3'].find((py) => {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python || !existsSync(script)) return undefined;
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds) slow a
  // current PyTorch several-fold; the reference runs without them, at its best.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const json = execFileSync(python, [script, String(steps), String(warmup)], { encoding: 'utf8', env });
  return JSON.parse(json.trim().split('\n').at(-1));
}

const steps = Number(values.steps);
const warmup = Number(values.warmup);
const wanted = (values.backends ?? BACKENDS.join(',')).split(',');
const results = [];
for (const name of wanted) {
  try {
    // The pure-JS backend is ~100x slower: time fewer steps there.
    const r = await benchBackend(name, name === 'cpu' ? 1 : steps, name === 'cpu' ? 0 : warmup, name === 'cpu' ? 0 : Number(values['leak-steps']));
    results.push(r);
    log(`${name}: train ${r.trainImagesPerSec.toFixed(1)} img/s, infer ${r.inferImagesPerSec.toFixed(1)} img/s, matmul ${r.matmulGflops.toFixed(2)} GFLOP/s, peak RSS ${r.peakRssMB.toFixed(0)} MB`);
  } catch (e) {
    log(`${name}: not available (${e instanceof Error ? e.message.split('\n')[0] : e})`);
  }
}
const torch = values['no-torch'] ? undefined : torchReference(steps, warmup);
if (torch) for (const r of results) r.ratioToTorch = r.trainImagesPerSec / torch.trainImagesPerSec;
if (values.json) {
  for (const r of results) out(JSON.stringify(r));
  if (torch) out(JSON.stringify(torch));
} else {
  out('| backend | train img/s | infer img/s | 2048² matmul GFLOP/s | peak RSS MB | vs PyTorch |');
  out('|---|---|---|---|---|---|');
  for (const r of [...results, ...(torch ? [torch] : [])]) {
    out(`| ${r.backend} | ${r.trainImagesPerSec.toFixed(1)} | ${r.inferImagesPerSec.toFixed(1)} | ${r.matmulGflops.toFixed(2)} | ${r.peakRssMB?.toFixed(0) ?? '-'} | ${r.ratioToTorch ? `${r.ratioToTorch.toFixed(2)}×` : r.backend.startsWith('pytorch') ? '1.00×' : 'n/a'} |`);
  }
  for (const r of results.filter((x) => x.leakSteps)) {
    out(`${r.backend}: ${r.leakSteps} steps, RSS after warm-up ${r.rssAfterWarmupMB.toFixed(0)} MB → end ${r.rssEndMB.toFixed(0)} MB; tensors ${r.tensorsAfterWarmup} → ${r.tensorsEnd}`);
  }
  if (!torch) out('(PyTorch reference not run: install it with `apt-get install python3-torch` to compare.)');
}
