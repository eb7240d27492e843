import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, initBackend, train, type DataSource, type TextBatch } from '@ssl/core';
import { CLS_ID, SEP_ID } from '@ssl/data';
import { createTransformer } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  itemSentences,
  nextSentencePairs,
  nextSentenceTask,
  nonIdentityPermutation,
  sentenceOrderRows,
  sentenceOrderSequences,
  sentenceOrderTask,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

/**
 * A hand-built batch in the text source's format: item r holds `m` sentences whose token ids are
 * unique to (item, sentence), `sentence` gives each token's sentence index (-1 on padding), and
 * `other` holds one sentence of a different "document" (ids ≥ 5000).
 */
function fixtureBatch(n: number, length: number, rng: Rng, sentencesPerItem = () => 2 + rng.int(3)): { raw: TextBatch; sents: number[][][] } {
  const tokens = new Int32Array(n * length);
  const sentence = new Int32Array(n * length).fill(-1);
  const otherLength = 8;
  const other = new Int32Array(n * otherLength);
  const sents: number[][][] = [];
  let next = 5;
  for (let r = 0; r < n; r++) {
    const m = sentencesPerItem();
    const item: number[][] = [];
    let p = r * length;
    for (let s = 0; s < m; s++) {
      const len = 2 + rng.int(6);
      const ids = Array.from({ length: len }, () => next++);
      const room = Math.min(len, (r + 1) * length - p);
      ids.slice(0, room).forEach((id, k) => ((tokens[p + k] = id), (sentence[p + k] = s)));
      p += room;
      item.push(ids.slice(0, room));
    }
    sents.push(item);
    const ol = 3 + rng.int(5);
    for (let k = 0; k < ol; k++) other[r * otherLength + k] = 5000 + r * 10 + k;
  }
  return { raw: { modality: 'text', tokens, n, length, indices: Int32Array.from({ length: n }, (_, i) => i), sentence, other, otherLength }, sents };
}

/** Splits a packed row `[CLS] s1 [SEP] s2 [SEP] …` into its segments. */
function segmentsOf(row: Int32Array): number[][] {
  expect(row[0]).toBe(CLS_ID);
  const out: number[][] = [];
  let cur: number[] = [];
  for (let i = 1; i < row.length && row[i] !== 0; i++) {
    if (row[i] === SEP_ID) {
      out.push(cur);
      cur = [];
    } else cur.push(row[i]!);
  }
  expect(cur).toEqual([]); // ends with [SEP]
  return out;
}

describe('itemSentences', () => {
  it('reads the sentences of an item from the sentence indices', () => {
    const { raw, sents } = fixtureBatch(3, 40, new Rng(0));
    for (let r = 0; r < 3; r++) expect(itemSentences(raw, r).map((s) => [...s])).toEqual(sents[r]);
  });
});

describe('nextSentencePairs', () => {
  it('is 50/50 (exactly per batch), B is the true next sentence for positives and another document for negatives', () => {
    const rng = new Rng(1);
    let positives = 0;
    let total = 0;
    for (let b = 0; b < 40; b++) {
      const { raw, sents } = fixtureBatch(20, 48, rng);
      const { tokens, labels } = nextSentencePairs(raw, rng);
      expect(labels.reduce((a, v) => a + v, 0)).toBe(10);
      for (let r = 0; r < 20; r++) {
        const [a, bSeg, ...rest] = segmentsOf(tokens.subarray(r * 48, (r + 1) * 48));
        expect(rest).toEqual([]);
        const item = sents[r]!;
        // A is a prefix of the item's sentences, ending exactly at a sentence end
        const flat = item.flat();
        const aEnd = flat.indexOf(a!.at(-1)!);
        const j = item.findIndex((s) => s.at(-1) === a!.at(-1));
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).toBeLessThan(item.length - 1);
        expect(a).toEqual(flat.slice(aEnd + 1 - a!.length, aEnd + 1));
        const trueNext = item[j + 1]!;
        if (labels[r] === 1) expect(bSeg).toEqual(trueNext);
        else {
          const otherRow = [...raw.other!.subarray(r * 8, (r + 1) * 8)].filter((v) => v !== 0);
          expect(bSeg).toEqual(otherRow);
          expect(bSeg).not.toEqual(trueNext);
          expect(bSeg!.some((id) => flat.includes(id))).toBe(false);
        }
      }
      positives += labels.reduce((s, v) => s + v, 0);
      total += 20;
    }
    expect(positives / total).toBe(0.5);
    // odd batches: the odd row by a coin, so about half over many batches
    let odd = 0;
    for (let b = 0; b < 400; b++) odd += nextSentencePairs(fixtureBatch(3, 48, rng).raw, rng).labels.reduce((s, v) => s + v, 0);
    expect(odd / 1200).toBeGreaterThan(0.46);
    expect(odd / 1200).toBeLessThan(0.54);
  });

  it('fits long sentences into the row, keeping the end of A and the start of B', () => {
    const raw: TextBatch = {
      modality: 'text',
      tokens: Int32Array.from({ length: 20 }, (_, i) => 10 + i),
      sentence: Int32Array.from({ length: 20 }, (_, i) => (i < 12 ? 0 : 1)),
      n: 1,
      length: 20,
      indices: Int32Array.of(0),
      other: Int32Array.of(100, 101, 0),
      otherLength: 3,
    };
    // find a seed giving a positive
    for (let seed = 0; seed < 10; seed++) {
      const { tokens, labels } = nextSentencePairs(raw, new Rng(seed));
      const [a, b] = segmentsOf(tokens);
      if (labels[0] === 1) {
        expect(a!.length + b!.length).toBe(17);
        expect(a!.at(-1)).toBe(21); // last token of sentence 0
        expect(b![0]).toBe(22); // first token of sentence 1
      } else expect(b).toEqual([100, 101]);
    }
  });

  it('needs other-document sentences', () => {
    const { raw } = fixtureBatch(2, 30, new Rng(0));
    const { other: _o, otherLength: _l, ...noOther } = raw;
    expect(() => nextSentencePairs(noOther, new Rng(0))).toThrow(SslError);
    expect(() => nextSentencePairs(noOther, new Rng(0))).toThrow(/different document/);
  });
});

describe('sentenceOrderSequences', () => {
  it('nonIdentityPermutation is never the identity and reaches every other permutation', () => {
    const rng = new Rng(3);
    const seen = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const p = [...nonIdentityPermutation(3, rng)];
      expect(p).not.toEqual([0, 1, 2]);
      expect([...p].sort()).toEqual([0, 1, 2]);
      seen.set(p.join(), (seen.get(p.join()) ?? 0) + 1);
    }
    expect(seen.size).toBe(5);
    for (const c of seen.values()) expect(c).toBeGreaterThan(480); // 600 expected each
    expect([...nonIdentityPermutation(2, rng)]).toEqual([1, 0]);
    expect(() => nonIdentityPermutation(1, rng)).toThrow(SslError);
  });

  it('is balanced; ordered rows keep the window order, shuffled rows are truly out of order', () => {
    const rng = new Rng(4);
    for (let b = 0; b < 30; b++) {
      const { raw, sents } = fixtureBatch(16, 40, rng, () => 2 + rng.int(4));
      const { tokens, labels } = sentenceOrderSequences(raw, 3, rng);
      expect(labels.reduce((a, v) => a + v, 0)).toBe(8);
      for (let r = 0; r < 16; r++) {
        const segs = segmentsOf(tokens.subarray(r * 40, (r + 1) * 40));
        const item = sents[r]!;
        expect(segs.length).toBe(Math.min(3, item.length));
        // each segment is a prefix of one sentence of the item; find which
        const which = segs.map((s) => item.findIndex((full) => full[0] === s[0]));
        which.forEach((w, i) => expect(segs[i]).toEqual(item[w]!.slice(0, segs[i]!.length)));
        const sorted = [...which].sort((x, y) => x - y);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBe(sorted[i - 1]! + 1); // consecutive window
        if (labels[r] === 1) expect(which).toEqual(sorted);
        else expect(which).not.toEqual(sorted);
      }
    }
  });

  it('splits a one-sentence item into pieces and rejects rows too short for k sentences', () => {
    const raw: TextBatch = {
      modality: 'text',
      tokens: Int32Array.of(7, 8, 9, 10, 11, 12, 0, 0, 0, 0),
      sentence: Int32Array.of(0, 0, 0, 0, 0, 0, -1, -1, -1, -1),
      n: 1,
      length: 10,
      indices: Int32Array.of(0),
    };
    const { tokens, orders } = sentenceOrderSequences(raw, 3, new Rng(0));
    const segs = segmentsOf(tokens);
    expect(segs.length).toBe(3);
    expect(
      Array.from(
        orders[0]!,
        (o) =>
          [
            [7, 8],
            [9, 10],
            [11, 12],
          ][o],
      ),
    ).toEqual(segs);
    expect(() => sentenceOrderSequences(raw, 4, new Rng(0))).toThrow(/at least 11 tokens/);
  });
});

describe('sentenceOrderRows (separate encoding)', () => {
  it('gives k whole sentences per item on their own rows; ordered windows keep the text order, shuffled ones never do', () => {
    const rng = new Rng(5);
    let shuffled = 0;
    for (let b = 0; b < 30; b++) {
      const { raw, sents } = fixtureBatch(16, 40, rng, () => 3 + rng.int(3));
      const { tokens, labels } = sentenceOrderRows(raw, 3, rng);
      expect(tokens.length).toBe(16 * 3 * 40);
      expect(labels.reduce((a, v) => a + v, 0)).toBe(8);
      for (let r = 0; r < 16; r++) {
        const item = sents[r]!;
        const rows = [0, 1, 2].map((j) => segmentsOf(tokens.subarray((r * 3 + j) * 40, (r * 3 + j + 1) * 40)));
        rows.forEach((segs) => expect(segs.length).toBe(1)); // one sentence per row
        const which = rows.map(([s]) => item.findIndex((full) => full[0] === s![0]));
        which.forEach((w, j) => expect(rows[j]![0]).toEqual(item[w]!)); // whole sentences
        const sorted = [...which].sort((x, y) => x - y);
        expect(sorted[2]! - sorted[0]!).toBe(2); // a window of 3 consecutive sentences
        if (labels[r] === 1) expect(which).toEqual(sorted);
        else {
          expect(which).not.toEqual(sorted);
          shuffled++;
        }
      }
    }
    expect(shuffled).toBe(30 * 8);
  });

  it('halves the longest sentence until an item has k segments', () => {
    // sentences [7 8 9 10] and [11 12]: the first is halved, giving [7 8] [9 10] [11 12]
    const raw: TextBatch = {
      modality: 'text',
      tokens: Int32Array.of(7, 8, 9, 10, 11, 12, 0, 0),
      sentence: Int32Array.of(0, 0, 0, 0, 1, 1, -1, -1),
      n: 1,
      length: 8,
      indices: Int32Array.of(0),
    };
    for (let seed = 0; seed < 5; seed++) {
      const { tokens, orders } = sentenceOrderRows(raw, 3, new Rng(seed));
      const rows = [0, 1, 2].map((j) => segmentsOf(tokens.subarray(j * 8, (j + 1) * 8))[0]);
      expect(rows).toEqual(
        Array.from(
          orders[0]!,
          (o) =>
            [
              [7, 8],
              [9, 10],
              [11, 12],
            ][o],
        ),
      );
    }
  });
});

describe('next-sentence / sentence-order tasks', () => {
  const length = 24;
  const source: DataSource<TextBatch> = {
    modality: 'text',
    size: 12,
    batch: (indices, rng) => {
      const { raw } = fixtureBatch(indices.length, length, rng);
      // keep ids inside the tiny vocabulary
      const fold = (a: Int32Array) => a.map((v) => (v >= 5 ? 5 + (v % 40) : v));
      return { ...raw, tokens: fold(raw.tokens), other: fold(raw.other!), indices: Int32Array.from(indices) };
    },
  };

  it.each([
    ['next-sentence', { mlm: true }, nextSentenceTask],
    ['next-sentence', { mlm: true, tiedOutput: true }, nextSentenceTask],
    ['sentence-order', { encoding: 'joint', mlm: false }, sentenceOrderTask],
    ['sentence-order', {}, sentenceOrderTask],
  ] as const)('%s %j trains a few steps with finite loss and no tensor leak', async (_name, taskConfig, task) => {
    // concatenated hidden states: pooled features [n, 32], per-token width 16 (the heads must use the width)
    const encoder = createTransformer({ vocabSize: 48, maxLength: length, dim: 16, heads: 2, layers: 1, hiddenStates: 'all', seed: 0 });
    expect(encoder.outputs[0]!.shape).toEqual([null, 32]);
    const run = async (epochs: number) => {
      const r = await train({ task: task as typeof nextSentenceTask, taskConfig, encoder, source, config: { epochs, batchSize: 6, seed: 2 } });
      // [CLS] heads read the width; the separate sentence-order classifier reads 3 pooled features
      expect(r.heads.classifier!.inputs[0]!.shape).toEqual([null, 'encoding' in taskConfig || task === nextSentenceTask ? 16 : 96]);
      Object.values(r.heads).forEach((h) => h.dispose());
      return r;
    };
    await run(1);
    const before = tf.memory().numTensors;
    const r = await run(3);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(6);
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    // with mlm the loss also holds the vocabulary cross-entropy (≈ ln 48), well above ln 2
    if ('mlm' in taskConfig && taskConfig.mlm) expect(r.history[0]!.loss).toBeGreaterThan(2.5);
    else expect(r.history[0]!.loss).toBeLessThan(1.5);
  });

  it('sentence-order rejects mlm with separate encoding, naming both fields', async () => {
    const encoder = createTransformer({ vocabSize: 48, maxLength: length, dim: 16, heads: 2, layers: 1, seed: 0 });
    await expect(train({ task: sentenceOrderTask, taskConfig: { mlm: true }, encoder, source, config: { epochs: 1, batchSize: 6, seed: 0 } })).rejects.toThrow(
      /mlm: true needs encoding "joint"/,
    );
    encoder.dispose();
  });
});
