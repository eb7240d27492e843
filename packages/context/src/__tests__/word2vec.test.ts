import * as tf from '@tensorflow/tfjs';
import { Rng, train, type TextBatch } from '@ssl/core';
import { Vocabulary, buildTokenizer, createTextSource, type TextCorpus } from '@ssl/data';
import { createBagOfEmbeddings } from '@ssl/encoders';
import { describe, expect, it } from 'vitest';
import {
  keepProbabilities,
  negativeSamplingLoss,
  noiseCdf,
  parseWord2VecText,
  sampleNoise,
  word2vecCbowTask,
  word2vecConfig,
  word2vecExamples,
  word2vecLoss,
  word2vecSgdStep,
  word2vecSkipgramTask,
  wordVectorsOf,
} from '../word2vec';

// Ids 5, 6, 7 = x, y, z with counts 900, 90, 10.
const vocab = Vocabulary.build([[...Array(900).fill('x'), ...Array(90).fill('y'), ...Array(10).fill('z')]], { minCount: 1 });
const X = vocab.id('x');
const Y = vocab.id('y');
const Z = vocab.id('z');

describe('word2vec sampling', () => {
  it('keeps words with probability min(1, sqrt(t / f)), and subsampling in the batch matches it', () => {
    const keep = keepProbabilities(vocab.counts, 0.01);
    expect(keep[X]).toBeCloseTo(Math.sqrt(0.01 / 0.9), 10);
    expect(keep[Y]).toBeCloseTo(Math.sqrt(0.01 / 0.09), 10);
    expect(keep[Z]).toBe(1);
    // CBOW emits one example per kept centre word that has a neighbour: with a row of 2 words
    // (x, z), z is always kept, so the number of examples counts the kept x's.
    const n = 20000;
    const tokens = new Int32Array(2 * n);
    for (let r = 0; r < n; r++) tokens.set([X, Z], 2 * r);
    const cfg = word2vecConfig.parse({ subsample: 0.01, window: 1 });
    const ex = word2vecExamples('cbow', { tokens, n, length: 2 }, vocab.counts, cfg, new Rng(3));
    const rate = ex.count / (2 * n); // each kept x gives 2 examples (x→z, z→x); a dropped one none
    const p = keep[X]!;
    expect(Math.abs(rate - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
  });

  it('draws negatives from unigram^0.75 (chi-square), never special tokens', () => {
    const cdf = noiseCdf(vocab.counts, 0.75);
    const rng = new Rng(7);
    const n = 40000;
    const hits = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const w = sampleNoise(cdf, rng);
      hits.set(w, (hits.get(w) ?? 0) + 1);
    }
    const z = 900 ** 0.75 + 90 ** 0.75 + 10 ** 0.75;
    let chi2 = 0;
    for (const [w, c] of [
      [X, 900],
      [Y, 90],
      [Z, 10],
    ] as const) {
      const expected = (n * c ** 0.75) / z;
      chi2 += ((hits.get(w) ?? 0) - expected) ** 2 / expected;
    }
    expect(chi2).toBeLessThan(13.8); // 2 degrees of freedom, p = 0.001
    for (let s = 0; s < 5; s++) expect(hits.get(s)).toBeUndefined();
  });

  it('builds skip-gram pairs inside a window of 1..window, positive first, zero weight on a noise id equal to it', () => {
    const tokens = Int32Array.from([X, Y, Z, 0, 0, 1, Y, Z, X]);
    const cfg = word2vecConfig.parse({ subsample: 0, window: 2, negatives: 3 });
    const ex = word2vecExamples('skipgram', { tokens, n: 1, length: 9 }, vocab.counts, cfg, new Rng(1));
    expect(ex.inputWidth).toBe(1);
    // 6 real words (pads and [UNK] are dropped); each pair is (context, centre) at distance ≤ 2.
    const words = [X, Y, Z, Y, Z, X];
    for (let e = 0; e < ex.count; e++) {
      const ctx = ex.inputs[e]!;
      const centre = ex.outputs[e * 4]!;
      expect(words).toContain(ctx);
      expect(words).toContain(centre);
      expect(ex.weights[e * 4]).toBe(1);
      for (let k = 1; k < 4; k++) expect(ex.weights[e * 4 + k]).toBe(ex.outputs[e * 4 + k] === centre ? 0 : 1);
    }
    expect(ex.count).toBeGreaterThanOrEqual(2 * 5); // at least the adjacent pairs
    expect(ex.count).toBeLessThanOrEqual(2 * (5 + 4)); // at most distance-1 and distance-2 pairs
  });
});

describe('word2vec loss', () => {
  it('matches the hand-computed negative-sampling loss, and the batched loss matches it', () => {
    // -log σ(1) - log σ(-0) - log σ(-(-2)) = log(1+e^-1) + log 2 + log(1+e^-2)
    const expected = Math.log(1 + Math.exp(-1)) + Math.log(2) + Math.log(1 + Math.exp(-2));
    expect(
      negativeSamplingLoss(
        [1, 0],
        [1, 0],
        [
          [0, 1],
          [-2, 0],
        ],
      ),
    ).toBeCloseTo(expected, 10);
    // Two examples; the second has its last noise term masked out; scale 1/2 (two text items).
    const second = Math.log(1 + Math.exp(-0.5)) + Math.log(1 + Math.exp(0.5 * 3));
    const loss = tf.tidy(
      () =>
        word2vecLoss(
          tf.tensor2d([
            [1, 0],
            [0, 0.5],
          ]),
          tf.tensor3d([
            [
              [1, 0],
              [0, 1],
              [-2, 0],
            ],
            [
              [0, 1],
              [0, 3],
              [5, 5],
            ],
          ]),
          tf.tensor2d([
            [1, 1, 1],
            [1, 1, 0],
          ]),
          0.5,
        ).dataSync()[0]!,
    );
    expect(loss).toBeCloseTo((expected + second) / 2, 5);
  });
});

describe('word2vec SGD step', () => {
  it("takes the reference tool's per-example step and reports the hand-computed loss", () => {
    // One skip-gram example: input word 5 with vector [1, 0]; positive 6 with [0.5, 0], one noise word 7 with [0, 1].
    const input = new Float32Array(8 * 2);
    const output = new Float32Array(8 * 2);
    input.set([1, 0], 10);
    output.set([0.5, 0], 12);
    output.set([0, 1], 14);
    const ex = { inputs: Int32Array.of(5), inputWidth: 1, outputs: Int32Array.of(6, 7), weights: Float32Array.of(1, 1), count: 1 };
    const loss = word2vecSgdStep(ex, input, output, 2, 0.1);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expect(loss).toBeCloseTo(Math.log(1 + Math.exp(-0.5)) + Math.log(2), 6);
    const gPos = 0.1 * (1 - sig(0.5));
    const gNeg = 0.1 * (0 - sig(0));
    expect(output[12]).toBeCloseTo(0.5 + gPos, 6); // v⁺ += g⁺·h
    expect(output[15]).toBeCloseTo(1 + gNeg * 0, 6); // h has no second component
    expect(output[14]).toBeCloseTo(gNeg, 6);
    expect(input[10]).toBeCloseTo(1 + gPos * 0.5 + gNeg * 0, 6); // h += Σ g·v (old v)
    expect(input[11]).toBeCloseTo(gNeg * 1, 6);
  });
});

describe('word2vec tasks on the shared trainer', () => {
  // Two topics that never share a sentence: words of one topic must end up closer together.
  function topicCorpus(): TextCorpus {
    const rng = new Rng(1);
    const groups = [
      ['cat', 'dog', 'pet', 'fur'],
      ['car', 'road', 'wheel', 'fuel'],
      ['sun', 'rain', 'wind', 'snow'],
      ['bread', 'milk', 'salt', 'rice'],
    ];
    const documents = Array.from({ length: 40 }, (_, d) => ({
      id: `d${d}`,
      // Capitalised sentences, so splitSentences gives 10 items per document.
      text: Array.from({ length: 10 }, () =>
        `${Array.from({ length: 6 }, () => rng.pick(groups[d % 4]!)).join(' ')}.`.replace(/^./, (c) => c.toUpperCase()),
      ).join(' '),
    }));
    return { name: 'topics', documents };
  }

  it.each([word2vecSkipgramTask, word2vecCbowTask])('$name lowers the loss and places co-occurring words together; export round-trips', async (task) => {
    const corpus = topicCorpus();
    const tokenizer = buildTokenizer(corpus, { minCount: 1 });
    const source = createTextSource(corpus, tokenizer, { length: 16, sentencesPerItem: 1 });
    const encoder = createBagOfEmbeddings({ vocabSize: tokenizer.size, dim: 16, seed: 0 });
    const result = await train({ task, encoder, source, taskConfig: { subsample: 0 }, config: { epochs: 4, batchSize: 40, seed: 0 } });
    const losses = result.history.map((h) => h.loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) * 0.8);
    const wv = await wordVectorsOf(encoder, tokenizer.vocab);
    expect(wv.similarity('cat', 'dog')).toBeGreaterThan(wv.similarity('cat', 'car') + 0.3);
    expect(['cat', 'dog', 'fur']).toContain(wv.nearest('pet', 1)[0]!.word);
    const parsed = parseWord2VecText(wv.toText());
    expect(parsed.words.length).toBe(16);
    expect(parsed.dim).toBe(16);
    const i = parsed.words.indexOf('road');
    expect(parsed.vectors[i * 16]).toBeCloseTo(wv.vector('road')![0]!, 5);
    tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
    encoder.dispose();
  });

  it('prepare needs the vocabulary counts and an empty batch gives a zero loss, not NaN', () => {
    const raw: TextBatch = { modality: 'text', tokens: new Int32Array(4), n: 1, length: 4, indices: Int32Array.of(0) };
    const config = word2vecConfig.parse({});
    expect(() => word2vecSkipgramTask.prepare(raw, { config, rng: new Rng(0), training: true })).toThrow(/vocabCounts/);
    const ex = word2vecExamples('skipgram', raw, vocab.counts, config, new Rng(0));
    expect(ex.count).toBe(1);
    expect(Array.from(ex.weights).every((w) => w === 0)).toBe(true);
  });
});
