import { Rng, SslError } from '@ssl/core';
import type { Vocabulary } from '@ssl/data';
import { z } from 'zod';

/**
 * Config of word2vec (Mikolov et al. 2013); defaults are the paper's / reference tool's,
 * except the dimension and epochs, scaled to run in minutes on 2 CPU cores.
 *
 * @example
 * const cfg = word2vecConfig.parse({ mode: 'cbow' });
 */
export const word2vecConfig = z.object({
  mode: z.enum(['skipgram', 'cbow']).default('skipgram').describe('skip-gram predicts context from centre; CBOW predicts centre from mean context'),
  dim: z.number().int().min(2).default(100).describe('embedding size (300 in the paper)'),
  window: z.number().int().min(1).default(5).describe('max context window; the effective window is drawn uniformly in 1..window per centre word'),
  negatives: z.number().int().min(1).default(5).describe('negative samples per positive (k)'),
  noisePower: z.number().default(0.75).describe('noise distribution exponent: unigram^power'),
  subsample: z
    .number()
    .min(0)
    .default(1e-3)
    .describe('frequent-word subsampling threshold t (0 disables); the paper uses 1e-5 on billion-word corpora, the reference tool defaults to 1e-3, which small corpora need (1e-5 collapses the vectors on SOTU)'),
  lr: z.number().positive().optional().describe('start learning rate, decayed linearly to lr*1e-4 (default 0.025 skip-gram, 0.05 CBOW)'),
  epochs: z.number().int().min(1).default(3).describe('passes over the corpus'),
  seed: z.number().int().default(0).describe('seed for init, subsampling, windows and negatives'),
});

/** Parsed word2vec config. */
export type Word2VecConfig = z.output<typeof word2vecConfig>;

/**
 * Probability of keeping each vocabulary word under frequent-word subsampling:
 * keep(w) = min(1, sqrt(t / f(w))), f the word's relative frequency (Mikolov et al. 2013, eq. 5).
 *
 * @example
 * keepProbabilities(vocab, 1e-5)[vocab.id('the')]; // well below 1
 */
export function keepProbabilities(vocab: Vocabulary, t: number): Float64Array {
  let total = 0;
  for (const c of vocab.counts) total += c;
  return Float64Array.from(vocab.counts, (c) => (t <= 0 || c === 0 ? 1 : Math.min(1, Math.sqrt(t / (c / total)))));
}

/**
 * Cumulative noise distribution P(w) ∝ count(w)^power over the vocabulary (special tokens have 0 mass).
 *
 * @example
 * const cdf = noiseCdf(vocab, 0.75); sampleNoise(cdf, rng);
 */
export function noiseCdf(vocab: Vocabulary, power: number): Float64Array {
  const cdf = new Float64Array(vocab.size);
  let acc = 0;
  for (let i = 0; i < vocab.size; i++) {
    acc += vocab.counts[i]! > 0 ? Math.pow(vocab.counts[i]!, power) : 0;
    cdf[i] = acc;
  }
  if (acc === 0) throw new SslError('noise distribution is empty: the vocabulary has no counted words');
  for (let i = 0; i < cdf.length; i++) cdf[i]! /= acc;
  return cdf;
}

/**
 * Draws one word id from a cumulative distribution (binary search).
 *
 * @example
 * sampleNoise(noiseCdf(vocab, 0.75), new Rng(1));
 */
export function sampleNoise(cdf: Float64Array, rng: Rng): number {
  const u = rng.float();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Negative-sampling loss of one (input vector h, output vectors) group, the quantity
 * word2vec minimises: −log σ(h·v⁺) − Σ log σ(−h·v⁻).
 *
 * @example
 * negativeSamplingLoss([1, 0], [1, 0], [[0, 1]]); // −log σ(1) − log σ(0)
 */
export function negativeSamplingLoss(h: ArrayLike<number>, positive: ArrayLike<number>, negatives: ArrayLike<number>[]): number {
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
    return s;
  };
  const logSig = (x: number): number => -Math.log1p(Math.exp(-x));
  return -logSig(dot(h, positive)) - negatives.reduce((s, n) => s + logSig(-dot(h, n)), 0);
}

/**
 * Trained word vectors with similarity queries and the word2vec text export.
 *
 * @example
 * const wv = trainWord2Vec(sentences, vocab, { mode: 'skipgram' });
 * wv.nearest('war', 5);
 */
export class WordVectors {
  private normed?: Float32Array;
  constructor(
    readonly vocab: Vocabulary,
    readonly dim: number,
    /** `vocab.size * dim` input (word) vectors. */
    readonly vectors: Float32Array,
    /** Mean negative-sampling loss per epoch. */
    readonly lossHistory: number[] = [],
  ) {}

  /** The vector of a word, or undefined when it is out of vocabulary. */
  vector(word: string): Float32Array | undefined {
    if (!this.vocab.has(word)) return undefined;
    const i = this.vocab.id(word);
    return this.vectors.subarray(i * this.dim, (i + 1) * this.dim);
  }

  private unit(): Float32Array {
    if (this.normed) return this.normed;
    const u = new Float32Array(this.vectors.length);
    for (let i = 0; i < this.vocab.size; i++) {
      let n = 0;
      for (let d = 0; d < this.dim; d++) n += this.vectors[i * this.dim + d]! ** 2;
      n = Math.sqrt(n) || 1;
      for (let d = 0; d < this.dim; d++) u[i * this.dim + d] = this.vectors[i * this.dim + d]! / n;
    }
    this.normed = u;
    return u;
  }

  /** Cosine similarity of two words (NaN if either is out of vocabulary). */
  similarity(a: string, b: string): number {
    if (!this.vocab.has(a) || !this.vocab.has(b)) return NaN;
    const u = this.unit();
    const i = this.vocab.id(a) * this.dim;
    const j = this.vocab.id(b) * this.dim;
    let s = 0;
    for (let d = 0; d < this.dim; d++) s += u[i + d]! * u[j + d]!;
    return s;
  }

  private nearestTo(query: Float32Array, k: number, exclude: Set<number>): Array<{ word: string; score: number }> {
    const u = this.unit();
    let qn = 0;
    for (const v of query) qn += v * v;
    qn = Math.sqrt(qn) || 1;
    const scores: Array<{ word: string; score: number }> = [];
    for (let i = 5; i < this.vocab.size; i++) {
      if (exclude.has(i)) continue;
      let s = 0;
      for (let d = 0; d < this.dim; d++) s += u[i * this.dim + d]! * query[d]!;
      scores.push({ word: this.vocab.tokens[i]!, score: s / qn });
    }
    return scores.sort((a, b) => b.score - a.score).slice(0, k);
  }

  /**
   * The k words with the highest cosine similarity to `word` (itself excluded).
   *
   * @example
   * wv.nearest('war', 3); // [{ word: 'hostilities', score: 0.7 }, ...]
   */
  nearest(word: string, k = 10): Array<{ word: string; score: number }> {
    const v = this.vector(word);
    if (!v) throw new SslError(`'${word}' is not in the vocabulary (${this.vocab.size} words)`);
    return this.nearestTo(v, k, new Set([this.vocab.id(word)]));
  }

  /**
   * Analogy a : b :: c : ? by 3CosAdd (nearest to b − a + c, the three inputs excluded).
   *
   * @example
   * wv.analogy('man', 'king', 'woman', 1); // ideally [{ word: 'queen', ... }]
   */
  analogy(a: string, b: string, c: string, k = 5): Array<{ word: string; score: number }> {
    const u = this.unit();
    const ids = [a, b, c].map((w) => {
      if (!this.vocab.has(w)) throw new SslError(`'${w}' is not in the vocabulary (${this.vocab.size} words)`);
      return this.vocab.id(w);
    });
    const q = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++) q[d] = u[ids[1]! * this.dim + d]! - u[ids[0]! * this.dim + d]! + u[ids[2]! * this.dim + d]!;
    return this.nearestTo(q, k, new Set(ids));
  }

  /**
   * The mean vector of the in-vocabulary words of a token list (zeros when none): a document feature.
   *
   * @example
   * wv.average(tokenizeWords('the union is strong'));
   */
  average(tokens: readonly string[]): Float32Array {
    const out = new Float32Array(this.dim);
    let n = 0;
    for (const t of tokens) {
      const v = this.vector(t);
      if (!v) continue;
      for (let d = 0; d < this.dim; d++) out[d]! += v[d]!;
      n++;
    }
    if (n > 0) for (let d = 0; d < this.dim; d++) out[d]! /= n;
    return out;
  }

  /**
   * The standard word2vec text format: a `count dim` header, then `word v1 v2 ...` per line
   * (special tokens omitted).
   *
   * @example
   * writeFileSync('vectors.txt', wv.toText());
   */
  toText(): string {
    const lines: string[] = [];
    for (let i = 5; i < this.vocab.size; i++) {
      lines.push(`${this.vocab.tokens[i]} ${Array.from(this.vectors.subarray(i * this.dim, (i + 1) * this.dim), (v) => v.toFixed(6)).join(' ')}`);
    }
    return `${lines.length} ${this.dim}\n${lines.join('\n')}\n`;
  }
}

/**
 * Parses vectors in the word2vec text format (as written by {@link WordVectors.toText}).
 *
 * @example
 * const { words, dim, vectors } = parseWord2VecText(readFileSync('vectors.txt', 'utf8'));
 */
export function parseWord2VecText(text: string): { words: string[]; dim: number; vectors: Float32Array } {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const [count, dim] = (lines[0] ?? '').split(' ').map(Number);
  if (!Number.isInteger(count) || !Number.isInteger(dim)) throw new SslError(`word2vec text header must be 'count dim', got '${lines[0]}'`);
  const words: string[] = [];
  const vectors = new Float32Array(count! * dim!);
  for (let i = 0; i < count!; i++) {
    const parts = (lines[i + 1] ?? '').split(' ');
    if (parts.length !== dim! + 1) throw new SslError(`word2vec text line ${i + 2} has ${parts.length - 1} values, expected ${dim}`);
    words.push(parts[0]!);
    for (let d = 0; d < dim!; d++) vectors[i * dim! + d] = Number(parts[d + 1]);
  }
  return { words, dim: dim!, vectors };
}

/**
 * Trains word2vec with negative sampling by plain SGD (as the reference tool does), with
 * frequent-word subsampling, a random effective window per centre word, and a learning rate
 * decayed linearly over all words of all epochs.
 *
 * @example
 * const sentences = splitSentences(text).map(tokenizeWords);
 * const vocab = Vocabulary.build(sentences, { minCount: 5 });
 * const wv = trainWord2Vec(sentences, vocab, { mode: 'cbow', dim: 50 });
 */
export function trainWord2Vec(
  sentences: readonly (readonly string[])[],
  vocab: Vocabulary,
  input: z.input<typeof word2vecConfig> = {},
  onEpoch?: (epoch: number, loss: number) => void,
): WordVectors {
  const cfg = word2vecConfig.parse(input);
  const rng = new Rng(cfg.seed);
  const { dim, window, negatives } = cfg;
  const lr0 = cfg.lr ?? (cfg.mode === 'cbow' ? 0.05 : 0.025);
  const V = vocab.size;
  const win = new Float32Array(V * dim);
  for (let i = 0; i < win.length; i++) win[i] = (rng.float() - 0.5) / dim;
  const wout = new Float32Array(V * dim);
  const keep = keepProbabilities(vocab, cfg.subsample);
  const cdf = noiseCdf(vocab, cfg.noisePower);
  const encoded = sentences.map((s) => vocab.encode(s).filter((id) => id > 1));
  let totalWords = 0;
  for (const s of encoded) totalWords += s.length;
  if (totalWords === 0) throw new SslError('word2vec: no in-vocabulary words in the corpus; lower minCount or give more text');
  const totalSteps = totalWords * cfg.epochs;
  let seen = 0;
  const h = new Float32Array(dim);
  const grad = new Float32Array(dim);
  const history: number[] = [];
  const sigmoid = (x: number): number => (x > 20 ? 1 : x < -20 ? 0 : 1 / (1 + Math.exp(-x)));
  // One positive + k negatives against the hidden vector h; accumulates dL/dh in grad; returns the loss.
  const update = (target: number, lr: number): number => {
    let loss = 0;
    for (let n = 0; n <= negatives; n++) {
      let w = target;
      let label = 1;
      if (n > 0) {
        w = sampleNoise(cdf, rng);
        if (w === target) continue;
        label = 0;
      }
      const o = w * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += h[d]! * wout[o + d]!;
      const p = sigmoid(dot);
      loss -= Math.log(Math.max(label === 1 ? p : 1 - p, 1e-7));
      const g = (label - p) * lr;
      for (let d = 0; d < dim; d++) {
        grad[d]! += g * wout[o + d]!;
        wout[o + d]! += g * h[d]!;
      }
    }
    return loss;
  };
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    let lossSum = 0;
    let lossCount = 0;
    for (const sentence of encoded) {
      const kept = sentence.filter((id) => keep[id]! >= 1 || rng.float() < keep[id]!);
      seen += sentence.length;
      const lr = Math.max(lr0 * (1 - seen / totalSteps), lr0 * 1e-4);
      for (let i = 0; i < kept.length; i++) {
        const b = 1 + rng.int(window);
        const lo = Math.max(0, i - b);
        const hi = Math.min(kept.length - 1, i + b);
        if (hi === lo) continue;
        if (cfg.mode === 'skipgram') {
          for (let j = lo; j <= hi; j++) {
            if (j === i) continue;
            // Input vector of the context word, output vectors predict the centre word (as the reference tool).
            const c = kept[j]! * dim;
            h.set(win.subarray(c, c + dim));
            grad.fill(0);
            lossSum += update(kept[i]!, lr);
            lossCount++;
            for (let d = 0; d < dim; d++) win[c + d]! += grad[d]!;
          }
        } else {
          h.fill(0);
          const n = hi - lo;
          for (let j = lo; j <= hi; j++) if (j !== i) for (let d = 0; d < dim; d++) h[d]! += win[kept[j]! * dim + d]! / n;
          grad.fill(0);
          lossSum += update(kept[i]!, lr);
          lossCount++;
          for (let j = lo; j <= hi; j++) if (j !== i) for (let d = 0; d < dim; d++) win[kept[j]! * dim + d]! += grad[d]!;
        }
      }
    }
    const mean = lossCount > 0 ? lossSum / lossCount : NaN;
    history.push(mean);
    onEpoch?.(epoch, mean);
  }
  return new WordVectors(vocab, dim, win, history);
}
