import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures, knnClassify, labelFractionSplit, linearProbe, parseLabelFraction, pca2d, pngDataUrl, renderReport, type FeatureSet } from '../index';

beforeAll(async () => {
  await initBackend();
});

function blobs(n: number, classes: number, dim: number, seed: number, spread = 0.3): FeatureSet {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, (_, c) => Array.from({ length: dim }, (_, j) => (j % classes === c ? 3 : 0)));
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) features[i * dim + j] = centres[c]![j]! + rng.normal(0, spread);
  }
  return { features, n, dim, labels };
}

describe('linear probe', () => {
  it('separates Gaussian blobs and stays near chance on random labels, leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await linearProbe(blobs(500, 5, 10, 1), blobs(200, 5, 10, 2), { epochs: 20 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    const noise = blobs(500, 5, 10, 3, 5);
    const shuffled = { ...noise, labels: new Rng(4).shuffle([...noise.labels!]).reduce((a, v, i) => ((a[i] = v), a), new Int32Array(500)) };
    const test = blobs(500, 5, 10, 5, 5);
    const testShuffled = { ...test, labels: new Rng(6).shuffle([...test.labels!]).reduce((a, v, i) => ((a[i] = v), a), new Int32Array(500)) };
    expect((await linearProbe(shuffled, testShuffled, { epochs: 10 })).accuracy).toBeLessThan(0.4);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects mismatched features with a clear message', async () => {
    await expect(linearProbe(blobs(10, 2, 4, 1), blobs(10, 2, 5, 1))).rejects.toThrow(/4 dimensions but test features 5/);
  });
});

describe('kNN', () => {
  it('matches a temperature-weighted vote computed by hand', async () => {
    // Train: two class-0 points at 10° and 80° from the query direction, one class-1 point at 20°.
    const deg = (d: number) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)];
    const train: FeatureSet = { features: Float32Array.from([...deg(10), ...deg(80), ...deg(20)]), n: 3, dim: 2, labels: Int32Array.of(0, 0, 1) };
    const test: FeatureSet = { features: Float32Array.from([2, 0]), n: 1, dim: 2, labels: Int32Array.of(1) };
    // k=2 picks the 10° (class 0) and 20° (class 1) points; class 0 wins (cos 10° > cos 20°).
    const r2 = await knnClassify(train, test, { k: 2, temperature: 0.1 });
    expect([...r2.predictions]).toEqual([0]);
    // k=3: class 0 weight e^{cos10/T}+e^{cos80/T} vs class 1 e^{cos20/T}; with T=0.05 class 1 still loses,
    // but by hand: class0 = e^{19.696}+e^{3.473} > class1 = e^{18.794}.
    const r3 = await knnClassify(train, test, { k: 3, temperature: 0.05 });
    expect(Math.exp(Math.cos(Math.PI / 18) / 0.05) + Math.exp(Math.cos((80 * Math.PI) / 180) / 0.05)).toBeGreaterThan(Math.exp(Math.cos(Math.PI / 9) / 0.05));
    expect(r3.predictions[0]).toBe(0);
    expect(r3.accuracy).toBe(0);
  });

  it('classifies blobs and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await knnClassify(blobs(400, 4, 8, 7), blobs(300, 4, 8, 8), { k: 20, chunk: 64 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('label fractions', () => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);
  it('are class-balanced, seeded and validated', () => {
    const a = labelFractionSplit(labels, 0.1, 1);
    expect(a.length).toBe(100);
    const counts = new Array(10).fill(0);
    for (const i of a) counts[labels[i]!]++;
    expect(counts.every((c) => c === 10)).toBe(true);
    expect([...labelFractionSplit(labels, 0.1, 1)]).toEqual([...a]);
    expect([...labelFractionSplit(labels, 0.1, 2)]).not.toEqual([...a]);
    expect(labelFractionSplit(labels, 0.001, 1).length).toBe(10);
    expect(parseLabelFraction('1%')).toBeCloseTo(0.01);
    expect(() => parseLabelFraction('150%')).toThrow(/Invalid label fraction "150%"/);
  });
});

describe('pca2d and report', () => {
  it('recovers the dominant direction of a stretched cloud', () => {
    const rng = new Rng(1);
    const n = 300;
    const rows = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const t = rng.normal(0, 10);
      rows.set([t, t, rng.normal(0, 0.1)], i * 3);
    }
    const xy = pca2d(rows, n, 3);
    // First component ∝ (x+y)/√2: its projection equals (x+y)/√2 up to the centring.
    let corr = 0;
    for (let i = 0; i < n; i++) corr += xy[2 * i]! * (rows[3 * i]! + rows[3 * i + 1]!);
    expect(corr).toBeGreaterThan(0);
    let varFirst = 0;
    let varSecond = 0;
    for (let i = 0; i < n; i++) {
      varFirst += xy[2 * i]! ** 2;
      varSecond += xy[2 * i + 1]! ** 2;
    }
    expect(varFirst / varSecond).toBeGreaterThan(100);
  });

  it('renders a self-contained, escaped report with the table values', () => {
    const html = renderReport({
      title: '<script>alert(1)</script>',
      lossCurve: [{ step: 0, loss: 2 }, { step: 1, loss: 1 }],
      table: [{ name: 'Linear probe', value: '91.20 %' }],
      embedding: { points: Float32Array.of(0, 0, 1, 1), labels: Int32Array.of(0, 1), classNames: ['a', 'b'] },
      images: [{ caption: 'x', dataUrl: pngDataUrl(new Float32Array(4), 2, 2, 1) }],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('91.20 %');
    expect((html.match(/<svg/g) ?? []).length).toBe(2);
    expect(html).toContain('data:image/png;base64,iVBORw0KGgo');
  });
});

describe('extractFeatures', () => {
  it('returns rows in dataset order with labels', async () => {
    const source: DataSource<ImageBatch> = {
      modality: 'image',
      size: 5,
      batch: (idx) => ({ modality: 'image', images: Float32Array.from(idx, (i) => i), n: idx.length, height: 1, width: 1, channels: 1, labels: Int32Array.from(idx, (i) => i % 2), indices: idx }),
    };
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 1] }), tf.layers.dense({ units: 2, kernelInitializer: 'ones', useBias: false })] });
    const f = await extractFeatures(model, source, { batchSize: 2 });
    expect(f.n).toBe(5);
    expect(f.dim).toBe(2);
    expect([...f.features]).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect([...f.labels!]).toEqual([0, 1, 0, 1, 0]);
  });
});
