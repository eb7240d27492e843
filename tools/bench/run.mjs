#!/usr/bin/env node
// `npm run bench`: throughput of the standard training step on every backend present.
// The standard step: 256 images × 2 views (512 per step), 28×28×1, the benchmark ConvNet,
// projection head Dense(128)-ReLU-Dense(64), NT-Xent (τ=0.5), Adam 1e-3; forward + backward +
// update, augmentations already materialised. Also: forward-only inference on 512 images, a
// 2048² matmul, and peak RSS. Medians over timed steps after warm-up.
// wasm runs once per thread count (--threads 1,2; default 1 and every core), each in its own
// process (the XNNPACK thread pool is fixed when the backend starts): the scaling table.
// The ResNet-18 row: CIFAR ResNet-18 (3×3 stem), 2 × 64 views of 32×32×3, projector 512-512-128,
// NT-Xent, Adam, with the wasm heap's peak. --profile prints the per-kernel time of one step.
// --rounds N repeats every wasm and PyTorch measurement N times, interleaved (round 1 of each,
// then round 2, …), and reports each row's median round with the range, and as its scaling the
// median of the per-round ratios paired within each round: on a shared machine one round's
// scaling ratio can move by a quarter from run to run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { BACKENDS, initBackend, resetWasmHeapPeak, wasmHeapStats } from '@ssl/core';
import { createConvNet, createResNet18Small } from '@ssl/encoders';
import { simclrStep } from './simclr-step.mjs';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    backends: { type: 'string' },
    steps: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    'leak-steps': { type: 'string', default: '0' },
    'no-torch': { type: 'boolean' },
    jax: { type: 'boolean' },
    threads: { type: 'string' },
    resnet: { type: 'string', default: '64' },
    'resnet-steps': { type: 'string', default: '2' },
    profile: { type: 'boolean' },
    rounds: { type: 'string', default: '1' },
    'wasm-child': { type: 'string' },
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

function profileTable(prof) {
  const by = new Map();
  for (const k of prof.kernels) {
    // Stride and kernel size tell the convolutions apart (3×3 vs 1×1 shortcuts, stride 1 vs 2).
    const conv = /Conv2D/.test(k.name) ? ` ${k.inputShapes[1]?.slice(0, 2).join('×') ?? ''}` : '';
    const key = `${k.name}${conv}`;
    by.set(key, (by.get(key) ?? 0) + k.kernelTimeMs);
  }
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(([name, ms]) => ({ kernel: name, ms: Math.round(ms), share: ms / total }));
}

async function benchBackend(name, steps, warmup, leakSteps, threads) {
  const info = await initBackend({ backend: name, ...(threads ? { threads } : {}) });
  const encoder = createConvNet({ inputShape: [28, 28, 1], seed: 0 });
  const views = tf.randomUniform([2 * HALF, 28, 28, 1], 0, 1, 'float32', 3);
  const { step: trainStep, dispose: disposeStep } = simclrStep(encoder, views, [128, 64]);
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
  const profile = values.profile && name !== 'cpu' ? profileTable(await tf.profile(trainStep)) : undefined;
  const result = {
    backend: name,
    threads: info.threads,
    steps,
    trainImagesPerSec: (2 * HALF) / trainSec,
    inferImagesPerSec: (2 * HALF) / inferSec,
    matmulGflops: (2 * n ** 3) / matmulSec / 1e9,
    peakRssMB: peakRss / 2 ** 20,
    ...(profile ? { profile } : {}),
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
  disposeStep();
  encoder.dispose();
  return result;
}

async function benchResNet(threads, half, steps) {
  const info = await initBackend({ backend: 'wasm', threads });
  const encoder = createResNet18Small({ inputShape: [32, 32, 3], seed: 0 });
  const views = tf.randomUniform([2 * half, 32, 32, 3], 0, 1, 'float32', 3);
  const { step, dispose: disposeStep } = simclrStep(encoder, views, [512, 128]);
  resetWasmHeapPeak();
  const sec = await timeIt(step, steps, 1);
  const heap = wasmHeapStats();
  const profile = values.profile ? profileTable(await tf.profile(step)) : undefined;
  tf.dispose(views);
  disposeStep();
  encoder.dispose();
  return {
    backend: 'wasm',
    model: 'resnet18',
    threads: info.threads,
    views: 2 * half,
    steps,
    trainImagesPerSec: (2 * half) / sec,
    peakTensorHeapMB: heap.peakBytes / 2 ** 20,
    wasmHeapMB: heap.heapBytes / 2 ** 20,
    peakRssMB: process.memoryUsage().rss / 2 ** 20,
    ...(profile ? { profile } : {}),
  };
}

function findPython() {
  // Debian's python3-torch lives beside the system Python, which may not be first on PATH.
  return ['python3', '/usr/bin/python3'].find((py) => {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

function torchReference(args) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_step.py');
  const python = findPython();
  if (!python || !existsSync(script)) return undefined;
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds) slow a
  // current PyTorch several-fold; the reference runs without them, at its best.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const json = execFileSync(python, [script, ...args.map(String)], { encoding: 'utf8', env });
  return JSON.parse(json.trim().split('\n').at(-1));
}

const steps = Number(values.steps);
const warmup = Number(values.warmup);
const cores = os.availableParallelism?.() ?? os.cpus().length;
const threadList = (values.threads ?? [...new Set([1, 2, cores])].join(',')).split(',').map(Number);
const wanted = (values.backends ?? BACKENDS.join(',')).split(',');
const resnetHalf = Number(values.resnet);
// One wasm thread count, in this process (the parent spawns one per count): its rows as JSON.
if (values['wasm-child']) {
  const threads = Number(values['wasm-child']);
  const rows = [await benchBackend('wasm', steps, warmup, Number(values['leak-steps']), threads)];
  const resnetRows = resnetHalf > 0 ? [await benchResNet(threads, resnetHalf, Number(values['resnet-steps']))] : [];
  out(JSON.stringify({ results: rows, resnet: resnetRows }));
  process.exit(0);
}
function wasmRows(threads) {
  const args = ['--wasm-child', String(threads), '--steps', String(steps), '--warmup', String(warmup), '--leak-steps', String(values['leak-steps'])];
  args.push('--resnet', String(resnetHalf), '--resnet-steps', String(values['resnet-steps']), ...(values.profile ? ['--profile'] : []));
  const json = execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(json.trim().split('\n').at(-1));
}
const rounds = Math.max(1, Number(values.rounds));
const results = [];
const resnet = [];
const torch = [];
const torchResnet = [];
const torchThreads = [...new Set(threadList)];
for (let round = 0; round < rounds; round++) {
  if (rounds > 1) log(`round ${round + 1} of ${rounds}`);
  for (const name of wanted) {
    // The pure-JS backend is ~100x slower: time it once, in the first round only.
    if (name === 'cpu' && round > 0) continue;
    for (const threads of name === 'wasm' ? threadList : [undefined]) {
      try {
        if (name === 'wasm') {
          const rows = wasmRows(threads);
          results.push(...rows.results);
          resnet.push(...rows.resnet);
        } else {
          results.push(
            await benchBackend(name, name === 'cpu' ? 1 : steps, name === 'cpu' ? 0 : warmup, name === 'cpu' ? 0 : Number(values['leak-steps']), threads),
          );
        }
        const r = results.at(-1);
        log(
          `${name} ×${r.threads}: train ${r.trainImagesPerSec.toFixed(1)} img/s, infer ${r.inferImagesPerSec.toFixed(1)} img/s, matmul ${r.matmulGflops.toFixed(2)} GFLOP/s, peak RSS ${r.peakRssMB.toFixed(0)} MB`,
        );
        for (const x of name === 'wasm' ? resnet.slice(-1) : []) {
          log(
            `resnet18 wasm ×${x.threads}: ${x.trainImagesPerSec.toFixed(1)} img/s, tensor heap peak ${x.peakTensorHeapMB.toFixed(0)} MB (wasm heap ${x.wasmHeapMB.toFixed(0)} MB)`,
          );
        }
      } catch (e) {
        log(`${name}: not available (${e instanceof Error ? e.message.split('\n')[0] : e})`);
        break;
      }
    }
  }
  if (!values['no-torch']) {
    torch.push(...torchThreads.map((t) => torchReference(['standard', steps, warmup, t])).filter(Boolean));
    if (resnetHalf > 0)
      torchResnet.push(...torchThreads.map((t) => torchReference(['resnet18', Number(values['resnet-steps']), 1, t, resnetHalf])).filter(Boolean));
  }
}
// One row per (backend, threads): the round with the median training throughput, and the range.
function medianRound(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.backend}|${r.threads}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const sorted = [...g].sort((a, b) => a.trainImagesPerSec - b.trainImagesPerSec);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    return g.length > 1 ? { ...mid, rounds: g.length, trainRange: [sorted[0].trainImagesPerSec, sorted.at(-1).trainImagesPerSec] } : mid;
  });
}
// The thread-scaling ratio of each round, paired within the round (drift between rounds cancels);
// their median becomes the row's "vs 1 thread" (the ratio of two median rounds would pair a quiet
// round with a disturbed one).
const pairedScaling = new Map();
function roundRatios(rows) {
  const lines = [];
  for (const backend of new Set(rows.map((r) => r.backend))) {
    const own = rows.filter((r) => r.backend === backend);
    const ones = own.filter((r) => r.threads === 1);
    for (const t of [...new Set(own.map((r) => r.threads))].filter((t) => t !== 1)) {
      const ratios = own.filter((r) => r.threads === t).map((r, i) => (ones[i] ? r.trainImagesPerSec / ones[i].trainImagesPerSec : NaN));
      if (ratios.length > 1) {
        lines.push(`${backend} ${t} vs 1 thread, per round: ${ratios.map((x) => `${x.toFixed(2)}×`).join(', ')}`);
        pairedScaling.set(`${rows === resnet || rows === torchResnet ? 'resnet|' : ''}${backend}|${t}`, median(ratios));
      }
    }
  }
  return lines;
}
const perRound = [...roundRatios(results.filter((r) => r.threads !== undefined)), ...roundRatios(torch), ...roundRatios(resnet), ...roundRatios(torchResnet)];
for (const rows of [results, resnet, torch, torchResnet]) {
  rows.splice(0, rows.length, ...medianRound(rows));
  const prefix = rows === resnet || rows === torchResnet ? 'resnet|' : '';
  for (const r of rows) if (pairedScaling.has(`${prefix}${r.backend}|${r.threads}`)) r.scaling = pairedScaling.get(`${prefix}${r.backend}|${r.threads}`);
}
const scaling = (r, one) => r.scaling ?? (one ? r.trainImagesPerSec / one.trainImagesPerSec : undefined);
const range = (r) => (r.trainRange ? ` (${r.trainRange.map((v) => v.toFixed(1)).join('–')})` : '');
// --jax: the same standard step in jax-js (tools/bench/jaxjs_step.mjs, jit(valueAndGrad)), the
// other JS autodiff library with a wasm backend. Its jit compile takes about a minute: one warm-up
// step, one timed step, in its own process.
function jaxReference() {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'jaxjs_step.mjs');
  try {
    const json = execFileSync(process.execPath, [script, '1', '1', String(HALF)], { encoding: 'utf8' });
    return JSON.parse(json.trim().split('\n').at(-1));
  } catch (e) {
    log(`jax-js: not run (${e instanceof Error ? e.message.split('\n')[0] : e})`);
    return undefined;
  }
}
const jax = values.jax ? [jaxReference()].filter(Boolean) : [];
const torchAt = (rows, t) => rows.find((r) => r.threads === t) ?? rows.at(-1);
for (const r of results) if (torch.length) r.ratioToTorch = r.trainImagesPerSec / torchAt(torch, r.threads).trainImagesPerSec;
for (const r of resnet) if (torchResnet.length) r.ratioToTorch = r.trainImagesPerSec / torchAt(torchResnet, r.threads).trainImagesPerSec;
const base = (rows, r) => rows.find((x) => x.backend === r.backend && x.threads === 1);
if (values.json) {
  for (const r of [...results, ...resnet, ...torch, ...torchResnet, ...jax]) out(JSON.stringify(r));
} else {
  out(
    `Standard step (2 × 256 views, 28×28×1 ConvNet, NT-Xent, Adam); ${cores} cores; load average ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')} at the end`,
  );
  out(
    `| backend | threads | train img/s | vs 1 thread${rounds > 1 ? ' (median of the paired rounds)' : ''} | infer img/s | 2048² matmul GFLOP/s | peak RSS MB | vs PyTorch (same threads) |`,
  );
  out('|---|---|---|---|---|---|---|---|');
  for (const r of [...results, ...torch]) {
    const one = base([...results, ...torch], r);
    out(
      `| ${r.backend} | ${r.threads ?? '-'} | ${r.trainImagesPerSec.toFixed(1)}${range(r)} | ${one ? `${scaling(r, one).toFixed(2)}×` : '-'} | ${r.inferImagesPerSec.toFixed(1)} | ${r.matmulGflops.toFixed(2)} | ${r.peakRssMB?.toFixed(0) ?? '-'} | ${r.ratioToTorch ? `${r.ratioToTorch.toFixed(2)}×` : r.backend.startsWith('pytorch') ? '1.00×' : 'n/a'} |`,
    );
  }
  for (const r of jax) {
    const one = results.find((x) => x.threads === 1);
    out(
      `| ${r.backend} | its default | ${r.trainImagesPerSec.toFixed(1)} | - | - | - | ${r.peakRssMB.toFixed(0)} | ${one ? `wasm ×1 is ${(one.trainImagesPerSec / r.trainImagesPerSec).toFixed(0)}× faster` : '-'} |`,
    );
  }
  for (const line of perRound) out(line);
  if (resnet.length) {
    out('');
    out(`ResNet-18 step (2 × ${resnetHalf} views, 32×32×3, projector 512-512-128, NT-Xent, Adam)`);
    out('| backend | threads | train img/s | vs 1 thread | peak memory | vs PyTorch (same threads) |');
    out('|---|---|---|---|---|---|');
    for (const r of [...resnet, ...torchResnet]) {
      const one = base([...resnet, ...torchResnet], r);
      const mem =
        r.peakTensorHeapMB !== undefined
          ? `${r.peakTensorHeapMB.toFixed(0)} MB tensors (wasm heap ${r.wasmHeapMB.toFixed(0)} MB)`
          : `${r.peakRssMB?.toFixed(0) ?? '-'} MB RSS`;
      out(
        `| ${r.backend} | ${r.threads} | ${r.trainImagesPerSec.toFixed(1)}${range(r)} | ${one ? `${scaling(r, one).toFixed(2)}×` : '-'} | ${mem} | ${r.ratioToTorch ? `${r.ratioToTorch.toFixed(2)}×` : r.backend.startsWith('pytorch') ? '1.00×' : 'n/a'} |`,
      );
    }
  }
  for (const r of [...results, ...resnet].filter((x) => x.profile)) {
    out('');
    out(`Per-kernel profile, ${r.model ?? 'standard step'} on ${r.backend} ×${r.threads} (one step; ms, share):`);
    out(r.profile.map((p) => `  ${p.kernel.padEnd(36)} ${String(p.ms).padStart(7)} ms  ${(100 * p.share).toFixed(1).padStart(5)} %`).join('\n'));
  }
  for (const r of results.filter((x) => x.leakSteps)) {
    out(
      `${r.backend} ×${r.threads}: ${r.leakSteps} steps, RSS after warm-up ${r.rssAfterWarmupMB.toFixed(0)} MB → end ${r.rssEndMB.toFixed(0)} MB; tensors ${r.tensorsAfterWarmup} → ${r.tensorsEnd}`,
    );
  }
  if (!torch.length) out('(PyTorch reference not run: install it with `apt-get install python3-torch` to compare.)');
}
