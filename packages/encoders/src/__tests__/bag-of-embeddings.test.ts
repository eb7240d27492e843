import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SslError } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { createBagOfEmbeddings, createEncoder, embeddingTableOf, loadLayersModel, saveLayersModel } from '../index';

describe('bag-of-embeddings encoder', () => {
  it('averages the embeddings of the ids >= 2, ignoring [PAD] and [UNK], for any length', () => {
    const enc = createBagOfEmbeddings({ vocabSize: 10, dim: 3, seed: 1 });
    const table = embeddingTableOf(enc).read().arraySync() as number[][];
    const out = tf.tidy(
      () =>
        (
          enc.predict(
            tf.tensor2d(
              [
                [5, 7, 0, 1],
                [1, 0, 0, 0],
              ],
              [2, 4],
              'int32',
            ),
          ) as tf.Tensor
        ).arraySync() as number[][],
    );
    table[5]!.forEach((v, d) => expect(out[0]![d]).toBeCloseTo((v + table[7]![d]!) / 2, 6));
    expect(out[1]).toEqual([0, 0, 0]);
    const longer = tf.tidy(() => (enc.predict(tf.tensor2d([[5, 7, 0, 0, 0, 0, 0, 0]], [1, 8], 'int32')) as tf.Tensor).arraySync() as number[][]);
    longer[0]!.forEach((v, d) => expect(v).toBeCloseTo(out[0]![d]!, 6));
    // word2vec's init: uniform in ±0.5/dim
    expect(table.flat().every((v) => Math.abs(v) <= 0.5 / 3)).toBe(true);
  });

  it('is in the catalogue, needs vocabSize, and round-trips through the layers format', async () => {
    expect(() => createEncoder('bag-of-embeddings', {}, [16], 0)).toThrow(SslError);
    const enc = createEncoder('bag-of-embeddings', { vocabSize: 12, dim: 4 }, [16], 3);
    const dir = mkdtempSync(path.join(tmpdir(), 'boe-'));
    await saveLayersModel(enc, dir);
    const back = await loadLayersModel(dir);
    expect(embeddingTableOf(back).read().arraySync()).toEqual(embeddingTableOf(enc).read().arraySync());
    expect(() => embeddingTableOf(tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] }))).toThrow(/no token embedding table/);
  });
});
