import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type DataSource, type TextBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures } from '../features';
import { builtinProtocols, createProtocolRegistry, defineProtocol, keepLabelFraction, protocolContext } from '../protocols';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** A dense layer with a fixed kernel and no bias: features are exactly x·W. */
function linear(inputShape: number[], kernel: number[][]): tf.LayersModel {
  const dense = tf.layers.dense({ units: kernel[0]!.length, useBias: false, ...(inputShape.length === 1 ? { inputShape } : {}) });
  const m = tf.sequential({ layers: inputShape.length === 1 ? [dense] : [tf.layers.flatten({ inputShape }), dense] });
  dense.setWeights([tf.tensor2d(kernel)]);
  return m;
}

describe('one feature extractor for every modality', () => {
  it('text: rows that are chunks of items become the weighted mean per item', async () => {
    // Embedding row i = [i]; pooled by mean over the 2 positions → feature of a row = mean token id.
    const enc = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 10, outputDim: 1, inputLength: 2 }), tf.layers.globalAveragePooling1d()] });
    enc.layers[0]!.setWeights([tf.tensor2d(Array.from({ length: 10 }, (_, i) => [i]))]);
    const source: DataSource<TextBatch> = {
      modality: 'text',
      size: 2,
      batch: (idx) => ({
        modality: 'text',
        // item 0: rows [2,4] and [6,0] with weights 2 and 1; item 1: row [8,8] weight 2.
        tokens: Int32Array.of(2, 4, 6, 0, 8, 8),
        n: 3,
        length: 2,
        labels: Int32Array.of(0, 1),
        indices: Int32Array.from(idx),
        chunks: { items: 2, owner: Int32Array.of(0, 0, 1), weight: Float32Array.of(2, 1, 2) },
      }),
    };
    const before = tf.memory().numTensors;
    const f = await extractFeatures(enc, source);
    expect(tf.memory().numTensors).toBe(before);
    // Item 0: (2·3 + 1·3) / 3 = 3; item 1: 8.
    expect(f.n).toBe(2);
    expect(Array.from(f.features)).toEqual([3, 8]);
    expect(Array.from(f.labels!)).toEqual([0, 1]);
  });

  it('graph: one full-graph pass, then the rows of the nodes asked for', async () => {
    const enc = linear(
      [2],
      [
        [1, 0],
        [0, 10],
      ],
    );
    const features = Float32Array.of(1, 2, 3, 4, 5, 6);
    const source = {
      modality: 'graph' as const,
      size: 2,
      batch: (idx: Int32Array) => ({
        modality: 'graph' as const,
        numNodes: 3,
        numFeatures: 2,
        features,
        edges: new Int32Array(0),
        nodes: Int32Array.from(idx, (i) => [2, 0][i]!),
        labels: Int32Array.from(idx, (i) => [5, 7][i]!),
        indices: idx,
      }),
    };
    const f = await extractFeatures(enc, source);
    expect(Array.from(f.features)).toEqual([5, 60, 1, 20]);
    expect(Array.from(f.labels!)).toEqual([5, 7]);
  });

  it('sequence: a window is reshaped to the encoder input ([steps, features])', async () => {
    const enc = linear([2, 2], [[1], [1], [1], [1]]);
    const source = {
      modality: 'sequence' as const,
      size: 2,
      batch: (idx: Int32Array) => ({
        modality: 'sequence' as const,
        frames: Float32Array.from({ length: idx.length * 4 }, (_, i) => i),
        n: idx.length,
        length: 2,
        frameShape: [2],
        labels: Int32Array.from(idx),
        indices: idx,
      }),
    };
    const f = await extractFeatures(enc, source, { batchSize: 1 });
    expect(Array.from(f.features)).toEqual([0 + 1 + 2 + 3, 0 + 1 + 2 + 3]);
  });

  it('reports its progress after every batch', async () => {
    const enc = linear([2], [[1], [1]]);
    const source = {
      modality: 'sequence' as const,
      size: 5,
      batch: (idx: Int32Array) => ({
        modality: 'sequence' as const,
        frames: new Float32Array(idx.length * 2),
        n: idx.length,
        length: 1,
        frameShape: [2],
        indices: idx,
      }),
    };
    const calls: Array<[number, number]> = [];
    await extractFeatures(enc, source, { batchSize: 2, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
  });
});

describe('protocol registry', () => {
  it('lists the built-ins and refuses a typo in one line', () => {
    const reg = createProtocolRegistry().use(builtinProtocols);
    expect(reg.names()).toEqual(['balanced-accuracy', 'few-shot', 'finetune', 'knn', 'linear', 'multi-label']);
    expect(() => reg.find('svm')).toThrow(
      'Unknown protocol "svm". Must be one of [balanced-accuracy, few-shot, finetune, knn, linear, multi-label]. Pick one with --protocol.',
    );
    expect(() => reg.use(defineProtocol({ name: 'knn', summary: 'x', run: async () => ({ metric: 'x', value: 0 }) }))).toThrow(/Duplicate protocol "knn"/);
    expect(() => defineProtocol({ name: 'Bad Name', summary: '', run: async () => ({ metric: '', value: 0 }) })).toThrow(/kebab-case/);
  });

  it('kNN and the linear probe through a protocol context; the label fraction keeps a balanced subset', async () => {
    const enc = linear(
      [1, 2, 1],
      [
        [1, 0],
        [0, 1],
      ],
    );
    const blob = (n: number, seed: number) => {
      const rng = new Rng(seed);
      const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
      const x = Float32Array.from({ length: 2 * n }, (_, j) => (labels[j >> 1] === 0 ? (j % 2 ? 1 : -1) : j % 2 ? -1 : 1) * 3 + rng.normal(0, 0.3));
      return {
        modality: 'image' as const,
        size: n,
        labels,
        batch: (idx: Int32Array) => ({
          modality: 'image' as const,
          images: Float32Array.from(idx.length ? [...idx].flatMap((i) => [x[2 * i]!, x[2 * i + 1]!]) : []),
          n: idx.length,
          height: 1,
          width: 2,
          channels: 1,
          labels: Int32Array.from(idx, (i) => labels[i]!),
          indices: idx,
        }),
      };
    };
    const ctx = protocolContext(enc, { train: blob(40, 1), test: blob(20, 2) }, { epochs: 20, seed: 0, labelFraction: 0.5 });
    const reg = createProtocolRegistry().use(builtinProtocols);
    expect((await reg.find('knn').run(ctx)).value).toBe(1);
    expect((await reg.find('linear').run(ctx)).value).toBe(1);
    const { train } = await ctx.features();
    expect(train.n).toBe(20);
    expect([...train.labels!].filter((l) => l === 0)).toHaveLength(10);
    expect(keepLabelFraction(train, 1, 0)).toBe(train);
  });
});
