import { Rng } from '@ssl/core';
import { Vocabulary } from '@ssl/data';
import { describe, expect, it } from 'vitest';
import { keepProbabilities, negativeSamplingLoss, noiseCdf, parseWord2VecText, sampleNoise, trainWord2Vec } from '../word2vec';

const vocab = Vocabulary.build([[...Array(900).fill('x'), ...Array(90).fill('y'), ...Array(10).fill('z')]], { minCount: 1 });

describe('word2vec data construction', () => {
  it('keeps words with probability min(1, sqrt(t / f))', () => {
    const keep = keepProbabilities(vocab, 0.01);
    expect(keep[vocab.id('x')]).toBeCloseTo(Math.sqrt(0.01 / 0.9), 10);
    expect(keep[vocab.id('y')]).toBeCloseTo(Math.sqrt(0.01 / 0.09), 10);
    expect(keep[vocab.id('z')]).toBe(1);
  });

  it('draws negatives from unigram^0.75', () => {
    const cdf = noiseCdf(vocab, 0.75);
    const rng = new Rng(7);
    const n = 40000;
    const hits = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const w = sampleNoise(cdf, rng);
      hits.set(w, (hits.get(w) ?? 0) + 1);
    }
    const z = 900 ** 0.75 + 90 ** 0.75 + 10 ** 0.75;
    for (const [w, c] of [['x', 900], ['y', 90], ['z', 10]] as const) {
      expect((hits.get(vocab.id(w)) ?? 0) / n).toBeCloseTo(c ** 0.75 / z, 2);
    }
    for (let s = 0; s < 5; s++) expect(hits.get(s)).toBeUndefined();
  });
});

describe('word2vec loss and training', () => {
  it('matches the hand-computed negative-sampling loss', () => {
    // -log σ(1) - log σ(-0) - log σ(-(-2)) = log(1+e^-1) + log 2 + log(1+e^-2)
    const expected = Math.log(1 + Math.exp(-1)) + Math.log(2) + Math.log(1 + Math.exp(-2));
    expect(negativeSamplingLoss([1, 0], [1, 0], [[0, 1], [-2, 0]])).toBeCloseTo(expected, 10);
  });

  it.each(['skipgram', 'cbow'] as const)('%s lowers the loss and places co-occurring words together; export round-trips', (mode) => {
    const rng = new Rng(1);
    const groups = [['cat', 'dog', 'pet', 'fur'], ['car', 'road', 'wheel', 'fuel']];
    const sentences = Array.from({ length: 400 }, () => {
      const g = rng.pick(groups);
      return Array.from({ length: 8 }, () => rng.pick(g));
    });
    const v = Vocabulary.build(sentences, { minCount: 1 });
    const wv = trainWord2Vec(sentences, v, { mode, dim: 16, epochs: 5, subsample: 0, seed: 2 });
    expect(wv.lossHistory.at(-1)!).toBeLessThan(wv.lossHistory[0]!);
    expect(wv.similarity('cat', 'dog')).toBeGreaterThan(wv.similarity('cat', 'car') + 0.3);
    expect(groups[0]).toContain(wv.nearest('pet', 1)[0]!.word);
    const parsed = parseWord2VecText(wv.toText());
    expect(parsed.words.length).toBe(8);
    expect(parsed.dim).toBe(16);
    const i = parsed.words.indexOf('road');
    expect(parsed.vectors[i * 16]).toBeCloseTo(wv.vector('road')![0]!, 5);
  });
});
