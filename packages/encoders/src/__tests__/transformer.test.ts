import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SslError, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MultiHeadSelfAttention,
  SequencePooling,
  TokenPositionEmbedding,
  createEncoder,
  createMlp,
  createTransformer,
  loadLayersModel,
  saveLayersModel,
  transformerSequenceModel,
  transformerTokenEmbeddings,
  transformerWidth,
  trimPadding,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

const ids2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]!.length], 'float32');

describe('createTransformer', () => {
  it('maps ids [n, L] to pooled features [n, dim · (layers + 1)] (or [n, dim] for the last layer) and per-token features [n, L, dim]', () => {
    const enc = createEncoder('transformer', { vocabSize: 30, dim: 16, heads: 2, layers: 1 }, [6], 0);
    const x = ids2d([
      [2, 7, 8, 3, 0, 0],
      [2, 9, 9, 9, 9, 3],
    ]);
    const pooled = enc.predict(x) as tf.Tensor;
    expect(pooled.shape).toEqual([2, 32]); // default hiddenStates 'all': embedding + final layer norm, 16 each
    expect((createEncoder('transformer', { vocabSize: 30, dim: 16, heads: 2, layers: 1, hiddenStates: 'last' }, [6], 0).predict(x) as tf.Tensor).shape).toEqual(
      [2, 16],
    );
    const seq = transformerSequenceModel(enc).predict(x) as tf.Tensor;
    expect(seq.shape).toEqual([2, 6, 16]);
    expect(transformerSequenceModel(enc)).toBe(transformerSequenceModel(enc)); // cached
    expect(transformerTokenEmbeddings(enc).shape).toEqual([30, 16]);
    tf.dispose([x, pooled, seq]);
  });

  it("hiddenStates 'all' concatenates the mean-pooled embedding output, each block's output and the final layer norm", () => {
    const opts = { vocabSize: 30, maxLength: 6, dim: 8, heads: 2, layers: 2, seed: 5 };
    const all = createTransformer({ ...opts, hiddenStates: 'all' });
    const last = createTransformer(opts);
    expect(all.outputs[0]!.shape).toEqual([null, 24]);
    expect(transformerWidth(all)).toBe(8);
    const x = ids2d([
      [2, 7, 8, 3, 0, 0],
      [2, 9, 11, 9, 9, 3],
    ]);
    const feats = (all.predict(x) as tf.Tensor).arraySync() as number[][];
    // independent: mean over the 4 and 6 real tokens of each named layer's per-token output
    const layerOut = (name: string) =>
      (tf.model({ inputs: all.inputs, outputs: all.getLayer(name).output as tf.SymbolicTensor }).predict(x) as tf.Tensor).arraySync() as number[][][];
    const parts = ['token_embedding', 'block0_res2', 'sequence_output'].map(layerOut);
    const used = [4, 6];
    for (let r = 0; r < 2; r++) {
      parts.forEach((p, i) => {
        for (let k = 0; k < 8; k++) {
          const mean = p[r]!.slice(0, used[r]).reduce((s, row) => s + row[k]!, 0) / used[r]!;
          expect(feats[r]![i * 8 + k]).toBeCloseTo(mean, 5);
        }
      });
    }
    // same seed, same weights: the last slice is exactly the default ('last') features
    const lastFeats = (last.predict(x) as tf.Tensor).arraySync() as number[][];
    for (let r = 0; r < 2; r++) for (let k = 0; k < 8; k++) expect(feats[r]![16 + k]).toBeCloseTo(lastFeats[r]![k]!, 5);
    expect(createEncoder('transformer', { vocabSize: 30, dim: 8, heads: 2, layers: 3, hiddenStates: 'all' }, [6], 0).outputs[0]!.shape).toEqual([null, 32]);
    expect(() => createTransformer({ ...opts, hiddenStates: 'some' as 'all' })).toThrow(/hiddenStates "some"/);
    x.dispose();
  });

  it('is fixed by its seed', () => {
    const a = createTransformer({ vocabSize: 20, maxLength: 4, dim: 8, heads: 2, layers: 1, seed: 3 });
    const b = createTransformer({ vocabSize: 20, maxLength: 4, dim: 8, heads: 2, layers: 1, seed: 3 });
    const c = createTransformer({ vocabSize: 20, maxLength: 4, dim: 8, heads: 2, layers: 1, seed: 4 });
    const w = (m: tf.LayersModel) => m.getWeights().map((t) => [...t.dataSync()]);
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
  });

  it('rejects bad settings and non-transformer encoders with SslErrors', () => {
    expect(() => createTransformer({ vocabSize: 20, maxLength: 4, dim: 10, heads: 4, seed: 0 })).toThrow(/dim 10 for 4 heads/);
    expect(() => createEncoder('transformer', {}, [28, 28, 1], 0)).toThrow(/token-id sequences of shape \[length\]/);
    expect(() => createEncoder('transformer', { pooling: 'max' }, [8], 0)).toThrow(SslError);
    expect(() => transformerSequenceModel(createMlp({ inputShape: [4], hidden: [4], outputDim: 2, seed: 0 }))).toThrow(/needs a transformer encoder/);
  });
});

describe('transformer layers', () => {
  it('attention ignores padded keys: changing x at padding leaves the real tokens unchanged', () => {
    const att = new MultiHeadSelfAttention({ heads: 2, seed: 1 });
    const ids = ids2d([[5, 6, 7, 0, 0]]);
    const x1 = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 1);
    const noise = tf.concat([tf.zeros([1, 3, 8]), tf.randomNormal([1, 2, 8], 0, 5, 'float32', 2)], 1);
    const x2 = tf.add(x1, noise);
    const y1 = att.apply([x1, ids]) as tf.Tensor;
    const y2 = att.apply([x2, ids]) as tf.Tensor;
    const real = (y: tf.Tensor) => [...tf.slice(y, [0, 0, 0], [1, 3, 8]).dataSync()];
    real(y1).forEach((v, i) => expect(v).toBeCloseTo(real(y2)[i]!, 5));
    // ...while the padded positions' own outputs do change (the test can fail).
    expect([...tf.slice(y1, [0, 3, 0], [1, 2, 8]).dataSync()]).not.toEqual([...tf.slice(y2, [0, 3, 0], [1, 2, 8]).dataSync()]);
    tf.dispose([ids, x1, noise, x2, y1, y2]);
  });

  it('mean pooling averages the non-padding tokens only; cls pooling takes the first token', () => {
    const h = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
        [100, 100],
      ],
    ]);
    const ids = ids2d([[2, 9, 0]]);
    expect([...(new SequencePooling({ mode: 'mean' }).apply([h, ids]) as tf.Tensor).dataSync()]).toEqual([2, 3]);
    expect([...(new SequencePooling({ mode: 'cls' }).apply([h, ids]) as tf.Tensor).dataSync()]).toEqual([1, 2]);
    tf.dispose([h, ids]);
  });

  it('embedding gradient: each table row gets the summed output gradient of its tokens', () => {
    const emb = new TokenPositionEmbedding({ vocabSize: 6, dim: 3, maxLength: 4, seed: 0 });
    const ids = ids2d([
      [1, 4, 4, 0],
      [4, 2, 0, 0],
    ]);
    emb.apply(ids); // builds the weights
    const r = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 5);
    const table = emb.trainableWeights[0]!.read() as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(emb.apply(ids) as tf.Tensor, r)) as tf.Scalar, [table]);
    const g = grads[table.name]!.arraySync() as number[][];
    const rv = r.arraySync() as number[][][];
    const idv = ids.arraySync();
    const expected = Array.from({ length: 6 }, () => [0, 0, 0]);
    idv.forEach((row, i) => row.forEach((t, j) => [0, 1, 2].forEach((k) => (expected[t]![k]! += rv[i]![j]![k]!))));
    g.forEach((row, v) => row.forEach((x, k) => expect(x).toBeCloseTo(expected[v]![k]!, 5)));
    tf.dispose([ids, r, ...Object.values(grads)]);
  });

  it('round-trips through saveLayersModel / loadLayersModel with identical outputs', async () => {
    const enc = createTransformer({ vocabSize: 25, maxLength: 5, dim: 8, heads: 2, layers: 2, pooling: 'cls', seed: 2 });
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ssl-tr-')), 'encoder');
    await saveLayersModel(enc, dir);
    const loaded = await loadLayersModel(dir);
    const x = ids2d([[2, 11, 12, 3, 0]]);
    expect([...(loaded.predict(x) as tf.Tensor).dataSync()]).toEqual([...(enc.predict(x) as tf.Tensor).dataSync()]);
    expect(transformerSequenceModel(loaded).outputs[0]!.shape).toEqual([null, 5, 8]);
    x.dispose();
  });

  it('trimPadding drops trailing all-padding columns, and the outputs at kept positions do not change', () => {
    expect(trimPadding(Int32Array.of(5, 6, 0, 0, 7, 0, 0, 0), 2, 4)).toEqual({ ids: Int32Array.of(5, 6, 7, 0), used: 2 });
    expect(trimPadding(Int32Array.of(0, 0, 0, 0), 2, 2).used).toBe(1);
    const full = Int32Array.of(2, 9, 10, 11, 0, 0, 0, 0, 2, 12, 0, 0, 0, 0, 0, 0);
    const { ids, used } = trimPadding(full, 2, 8);
    expect(used).toBe(4);
    const enc = createTransformer({ vocabSize: 16, maxLength: 8, dim: 8, heads: 2, layers: 2, seed: 5 });
    const seq = transformerSequenceModel(enc);
    const a = seq.apply(tf.tensor2d(full, [2, 8], 'int32')) as tf.Tensor;
    const b = seq.apply(tf.tensor2d(ids, [2, used], 'int32')) as tf.Tensor;
    const av = tf.slice(a, [0, 0, 0], [2, used, 8]).dataSync();
    const bv = b.dataSync();
    av.forEach((v, i) => expect(v).toBeCloseTo(bv[i]!, 5));
    const pa = (enc.apply(tf.tensor2d(full, [2, 8], 'int32')) as tf.Tensor).dataSync();
    const pb = (enc.apply(tf.tensor2d(ids, [2, used], 'int32')) as tf.Tensor).dataSync();
    pa.forEach((v, i) => expect(v).toBeCloseTo(pb[i]!, 5));
  });
});
