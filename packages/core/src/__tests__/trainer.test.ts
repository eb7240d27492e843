import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initBackend } from '../backend';
import { definePretextTask } from '../registry';
import { Rng } from '../rng';
import { train } from '../trainer';
import type { DataSource, ImageBatch } from '../types';

// A tiny image source: 8×8 grey images, brighter towards the bottom, with a bar at a random row.
function barSource(n: number, fill?: number): DataSource<ImageBatch> {
  const rng = new Rng(123);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = rng.int(8);
    labels[i] = row % 2;
    const gain = rng.uniform(0.3, 1);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) images[i * 64 + y * 8 + x] = fill ?? (y === row ? 1 : (gain * y) / 7);
  }
  return {
    modality: 'image',
    size: n,
    batch(indices) {
      const out = new Float32Array(indices.length * 64);
      indices.forEach((k, j) => out.set(images.subarray(k * 64, (k + 1) * 64), j * 64));
      return {
        modality: 'image',
        images: out,
        n: indices.length,
        height: 8,
        width: 8,
        channels: 1,
        labels: labels.filter((_, i) => indices.includes(i)),
        indices,
      };
    },
  };
}

// A toy pretext task: predict whether the image was flipped vertically (uses the step's rng).
const flipTask = definePretextTask({
  name: 'toy-flip',
  family: 'context',
  modality: 'image',
  title: 'Toy flip',
  paper: 'test',
  description: 'test',
  config: z.object({ scale: z.number().default(1) }).strict(),
  createHeads: ({ featureDim, seed }) => ({
    classifier: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [featureDim], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
    }),
  }),
  prepare: (raw, { rng, config }) => {
    const flips = Int32Array.from({ length: raw.n }, () => (rng.bernoulli(0.5) ? 1 : 0));
    const x = tf.tensor4d(raw.images, [raw.n, 8, 8, 1]).mul(config.scale);
    const flipped = tf.reverse(x, 1);
    const mask = tf.tensor1d(flips, 'float32').reshape([raw.n, 1, 1, 1]);
    return { x: x.mul(tf.scalar(1).sub(mask)).add(flipped.mul(mask)), y: tf.oneHot(tf.tensor1d(flips, 'int32'), 2) };
  },
  loss: ({ encode, heads, batch }) => tf.losses.softmaxCrossEntropy(batch.y, heads.classifier!.apply(encode(batch.x)) as tf.Tensor) as tf.Scalar,
});

function tinyEncoder(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed }) })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

async function weightsOf(m: tf.LayersModel): Promise<number[]> {
  const out: number[] = [];
  for (const w of m.weights) out.push(...(await w.read().data()));
  return out;
}

beforeAll(async () => {
  await initBackend();
});

describe('trainer', () => {
  it('learns the toy task and keeps tf.memory().numTensors flat over 50 steps', async () => {
    const encoder = tinyEncoder(1);
    const counts: number[] = [];
    const source = barSource(64);
    const wrapped: DataSource<ImageBatch> = { ...source, batch: (i, r) => (counts.push(tf.memory().numTensors), source.batch(i, r)) };
    const r = await train({ task: flipTask, encoder, source: wrapped, config: { epochs: 25, batchSize: 32, lr: 1e-2, seed: 3 } });
    expect(r.steps).toBe(50);
    expect(counts.length).toBe(50);
    // After the first step has created the optimiser slots, nothing may accumulate.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const first = r.history.slice(0, 5).reduce((a, h) => a + h.loss, 0) / 5;
    const last = r.history.slice(-5).reduce((a, h) => a + h.loss, 0) / 5;
    expect(last).toBeLessThan(first * 0.5);
    tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
  });

  it('frees everything it allocated: after disposing the heads, the tensor count is back where it started', async () => {
    const encoder = tinyEncoder(9);
    const before = tf.memory().numTensors;
    const r = await train({ task: flipTask, encoder, source: barSource(32), config: { epochs: 2, batchSize: 16, seed: 1, weightDecay: 1e-4 } });
    const headTensors = Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read()));
    expect(tf.memory().numTensors).toBe(before + headTensors.length);
    tf.dispose(headTensors);
  });

  it('a run stopped mid-epoch and resumed ends exactly like an uninterrupted run', async () => {
    const config = { epochs: 3, batchSize: 16, lr: 5e-3, seed: 11, checkpointEvery: 3, monitorEvery: 1 };
    const monitor = async (epoch: number) => ({ knn: epoch / 8 });
    const source = barSource(64); // 4 steps per epoch: stop at step 7 = mid-epoch 2

    const dirA = mkdtempSync(path.join(tmpdir(), 'ssl-run-a-'));
    const encA = tinyEncoder(5);
    const a = await train({ task: flipTask, encoder: encA, source, config, runDir: dirA, monitor });

    const dirB = mkdtempSync(path.join(tmpdir(), 'ssl-run-b-'));
    const killed = await train({ task: flipTask, encoder: tinyEncoder(5), source, config, runDir: dirB, stopAfterSteps: 7, monitor });
    expect(killed.stoppedEarly).toBe(true);
    // The "killed" process's in-memory weights are gone: resume into a fresh encoder.
    const encB = tinyEncoder(5);
    const b = await train({ task: flipTask, encoder: encB, source, config, runDir: dirB, resume: true, monitor });

    expect(b.steps).toBe(a.steps);
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    expect(await weightsOf(encB)).toEqual(await weightsOf(encA));
    const lines = (d: string) => readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines(dirB)).toEqual(lines(dirA));
  });

  it('runs the monitor every K epochs and records its numbers in the metrics', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-run-mon-'));
    const calls: number[] = [];
    const r = await train({
      task: flipTask,
      encoder: tinyEncoder(4),
      source: barSource(32),
      config: { epochs: 4, batchSize: 16, monitorEvery: 2 },
      runDir: dir,
      monitor: async (epoch) => (calls.push(epoch), { knn: epoch / 10 }),
    });
    expect(calls).toEqual([2, 4]);
    expect(r.history.filter((h) => 'knn' in h).map((h) => h.knn)).toEqual([0.2, 0.4]);
    const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => 'knn' in l).map((l) => [l.epoch, l.knn])).toEqual([
      [1, 0.2],
      [3, 0.4],
    ]);
  });

  it('stops with a clear message when the loss becomes NaN', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-run-nan-'));
    await expect(
      train({ task: flipTask, encoder: tinyEncoder(2), source: barSource(32, Number.NaN), config: { epochs: 1, batchSize: 16 }, runDir: dir }),
    ).rejects.toThrow(/Loss became NaN at epoch 1, step 0.*Lower the learning rate/);
  });

  it('validates the trainer config, naming field and value', async () => {
    await expect(train({ task: flipTask, encoder: tinyEncoder(2), source: barSource(32), config: { epochs: -1 } })).rejects.toThrow(
      /Invalid trainer config: field "epochs" = -1/,
    );
  });
});
