import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask, learningRateAt, type TextBatch } from '@ssl/core';
import { NUM_SPECIAL_TOKENS, type Vocabulary } from '@ssl/data';
import { embeddingTableOf } from '@ssl/encoders';
import { z } from 'zod';

/**
 * Probability of keeping each vocabulary word under frequent-word subsampling:
 * keep(w) = min(1, sqrt(t / f(w))), f the word's relative frequency (Mikolov et al. 2013, eq. 5).
 *
 * @example
 * keepProbabilities(vocab.counts, 1e-5)[vocab.id('the')]; // well below 1
 */
export function keepProbabilities(counts: ArrayLike<number>, t: number): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  return Float64Array.from(counts, (c) => (t <= 0 || c === 0 ? 1 : Math.min(1, Math.sqrt(t / (c / total)))));
}

/**
 * Cumulative noise distribution P(w) ∝ count(w)^power over the vocabulary (special tokens have 0 mass).
 *
 * @example
 * const cdf = noiseCdf(vocab.counts, 0.75); sampleNoise(cdf, rng);
 */
export function noiseCdf(counts: ArrayLike<number>, power: number): Float64Array {
  const cdf = new Float64Array(counts.length);
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]! > 0 ? Math.pow(counts[i]!, power) : 0;
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
 * const wv = await wordVectorsOf(encoder, vocab); // after `ssl pretrain --method word2vec-skipgram`
 * wv.nearest('war', 5);
 */
export class WordVectors {
  private normed?: Float32Array;
  constructor(
    readonly vocab: Vocabulary,
    readonly dim: number,
    /** `vocab.size * dim` input (word) vectors. */
    readonly vectors: Float32Array,
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
 * Config of the word2vec tasks (Mikolov et al. 2013); defaults are the paper's / reference tool's.
 * The vector size is the encoder's (`--set encoder.dim=...`, 100 by default, 300 in the paper).
 *
 * @example
 * word2vecConfig.parse({ window: 5 });
 */
export const word2vecConfig = z
  .object({
    window: z.number().int().min(1).max(50).default(5).describe('max context window; the effective window is drawn uniformly in 1..window per centre word'),
    negatives: z.number().int().min(1).max(50).default(5).describe('negative samples per positive (k)'),
    noisePower: z.number().min(0).max(2).default(0.75).describe('noise distribution exponent: unigram^power'),
    subsample: z
      .number()
      .min(0)
      .max(1)
      .default(1e-3)
      .describe(
        'frequent-word subsampling threshold t (0 disables); the paper uses 1e-5 on billion-word corpora, the reference tool defaults to 1e-3, which small corpora need (1e-5 keeps too few words of SOTU)',
      ),
  })
  .strict();

/** Parsed word2vec config. */
export type Word2VecConfig = z.output<typeof word2vecConfig>;

/**
 * word2vec's training examples from token rows: each row is cleaned of special/unknown ids,
 * frequent words are dropped with probability 1 − keep(w), and for every remaining centre word
 * a window b ∈ 1..window is drawn. Skip-gram: one example per (context, centre) pair, input = the
 * context word, output = the centre word (as the reference tool). CBOW: one example per centre,
 * input = its 2·window context words (0-padded), output = the centre. Each output row is the
 * positive id then k noise ids; `weights` is 0 where a noise id equals the positive (skipped, as
 * the reference tool does), and all-zero for the single dummy row of an empty batch.
 *
 * @example
 * const ex = word2vecExamples('skipgram', raw, raw.vocabCounts!, word2vecConfig.parse({}), rng);
 * ex.inputs; // ex.count × ex.inputWidth ids; ex.outputs: ex.count × (1 + k)
 */
export function word2vecExamples(
  mode: 'skipgram' | 'cbow',
  raw: Pick<TextBatch, 'tokens' | 'n' | 'length'>,
  counts: Int32Array,
  config: Word2VecConfig,
  rng: Rng,
): { inputs: Int32Array; inputWidth: number; outputs: Int32Array; weights: Float32Array; count: number } {
  const { keep, cdf } = samplingTables(counts, config);
  const inputWidth = mode === 'cbow' ? 2 * config.window : 1;
  const k = config.negatives;
  const inputs: number[] = [];
  const centres: number[] = [];
  for (let r = 0; r < raw.n; r++) {
    const kept: number[] = [];
    for (let i = r * raw.length; i < (r + 1) * raw.length; i++) {
      const id = raw.tokens[i]!;
      if (id >= NUM_SPECIAL_TOKENS && id < counts.length && (keep[id]! >= 1 || rng.float() < keep[id]!)) kept.push(id);
    }
    for (let i = 0; i < kept.length; i++) {
      const b = 1 + rng.int(config.window);
      const lo = Math.max(0, i - b);
      const hi = Math.min(kept.length - 1, i + b);
      if (hi === lo) continue;
      if (mode === 'skipgram') {
        for (let j = lo; j <= hi; j++) {
          if (j === i) continue;
          inputs.push(kept[j]!);
          centres.push(kept[i]!);
        }
      } else {
        let w = 0;
        for (let j = lo; j <= hi; j++) {
          if (j === i) continue;
          inputs.push(kept[j]!);
          w++;
        }
        for (; w < inputWidth; w++) inputs.push(0);
        centres.push(kept[i]!);
      }
    }
  }
  const empty = centres.length === 0;
  const count = empty ? 1 : centres.length;
  const outputs = new Int32Array(count * (1 + k));
  const weights = new Float32Array(count * (1 + k));
  if (empty) return { inputs: new Int32Array(inputWidth), inputWidth, outputs, weights, count };
  for (let e = 0; e < count; e++) {
    const pos = centres[e]!;
    outputs[e * (1 + k)] = pos;
    weights[e * (1 + k)] = 1;
    for (let n = 1; n <= k; n++) {
      const w = sampleNoise(cdf, rng);
      outputs[e * (1 + k) + n] = w;
      weights[e * (1 + k) + n] = w === pos ? 0 : 1;
    }
  }
  return { inputs: Int32Array.from(inputs), inputWidth, outputs, weights, count };
}

const tableCache = new WeakMap<Int32Array, Map<string, { keep: Float64Array; cdf: Float64Array }>>();

/** keep(w) and the noise CDF of a vocabulary's counts, computed once per counts array and config. */
function samplingTables(counts: Int32Array, config: Word2VecConfig): { keep: Float64Array; cdf: Float64Array } {
  const byConfig = tableCache.get(counts) ?? new Map<string, { keep: Float64Array; cdf: Float64Array }>();
  tableCache.set(counts, byConfig);
  const key = `${config.subsample}/${config.noisePower}`;
  let t = byConfig.get(key);
  if (!t) {
    t = { keep: keepProbabilities(counts, config.subsample), cdf: noiseCdf(counts, config.noisePower) };
    byConfig.set(key, t);
  }
  return t;
}

/**
 * The batched negative-sampling loss: h = encoder(inputs) (mean of the input vectors), v = output
 * vectors of [positive, noise…]; loss = scale · Σ_e [−log σ(h·v⁺) − Σ_n w·log σ(−h·v⁻)].
 * The tasks use scale = 1 / (text items in the batch): a sum over examples, as the reference
 * tool's per-pair SGD updates add up, so plain SGD with lr ≈ 0.025 × items per batch takes its steps.
 *
 * @example
 * const loss = tf.tidy(() => word2vecLoss(h, outputVectors, weights, 1 / 64)); // h [m, d], outputVectors [m, 1+k, d], weights [m, 1+k]
 */
export function word2vecLoss(h: tf.Tensor2D, outputVectors: tf.Tensor3D, weights: tf.Tensor2D, scale: number | tf.Scalar): tf.Scalar {
  // log σ(z) = min(z, 0) − log(1 + e^−|z|): stable, and built from kernels every backend
  // differentiates (tf.logSigmoid's custom gradient loses its saved tensor on the wasm backend).
  const logSigmoid = (z: tf.Tensor): tf.Tensor => tf.sub(tf.minimum(z, 0), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  const logits = tf.sum(tf.mul(tf.expandDims(h, 1), outputVectors), 2); // [m, 1+k]
  const k1 = logits.shape[1]!;
  const sign = tf.concat([tf.ones([1, 1]), tf.fill([1, k1 - 1], -1)], 1);
  const terms = tf.mul(logSigmoid(tf.mul(logits, sign)), weights);
  return tf.mul(tf.neg(tf.sum(terms)), scale) as tf.Scalar;
}

/**
 * Applies word2vec's SGD to a batch of examples one example at a time, as the reference tool:
 * h = mean of the example's input vectors; for the positive and each weighted noise id,
 * g = lr·(label − σ(h·v)), v += g·h at once, and Σ g·v is then added to every input vector
 * (CBOW: to each context word in full, as the reference tool does). Returns the mean loss of the
 * examples, each measured before its own update.
 *
 * @example
 * const loss = word2vecSgdStep(word2vecExamples('skipgram', raw, counts, cfg, rng), input, output, 100, 0.025);
 */
export function word2vecSgdStep(
  ex: { inputs: Int32Array; inputWidth: number; outputs: Int32Array; weights: Float32Array; count: number },
  input: Float32Array,
  output: Float32Array,
  dim: number,
  lr: number,
): number {
  const k1 = ex.outputs.length / ex.count;
  const h = new Float32Array(dim);
  const grad = new Float32Array(dim);
  let lossSum = 0;
  let examples = 0;
  for (let e = 0; e < ex.count; e++) {
    if (ex.weights[e * k1] === 0) continue; // the empty batch's dummy row
    h.fill(0);
    let n = 0;
    for (let j = 0; j < ex.inputWidth; j++) {
      const id = ex.inputs[e * ex.inputWidth + j]!;
      if (id === 0) continue;
      for (let d = 0; d < dim; d++) h[d]! += input[id * dim + d]!;
      n++;
    }
    if (n === 0) continue;
    for (let d = 0; d < dim; d++) h[d]! /= n;
    grad.fill(0);
    for (let o = 0; o < k1; o++) {
      if (ex.weights[e * k1 + o] === 0) continue;
      const w = ex.outputs[e * k1 + o]! * dim;
      const label = o === 0 ? 1 : 0;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += h[d]! * output[w + d]!;
      // −log σ(±dot), computed stably
      const z = label === 1 ? dot : -dot;
      lossSum += Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
      const g = lr * (label - 1 / (1 + Math.exp(-dot)));
      for (let d = 0; d < dim; d++) {
        grad[d]! += g * output[w + d]!;
        output[w + d]! += g * h[d]!;
      }
    }
    for (let j = 0; j < ex.inputWidth; j++) {
      const id = ex.inputs[e * ex.inputWidth + j]!;
      if (id === 0) continue;
      for (let d = 0; d < dim; d++) input[id * dim + d]! += grad[d]!;
    }
    examples++;
  }
  return examples > 0 ? lossSum / examples : 0;
}

/** The output-vector table of word2vec: one embedding per vocabulary id, initialised to zero as in the reference tool. */
function outputEmbeddings(vocabSize: number, dim: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: vocabSize,
        outputDim: dim,
        inputShape: [null as unknown as number],
        embeddingsInitializer: 'zeros',
        name: 'output_vectors',
      }),
    ],
  });
}

/** Frequent content words whose nearest neighbours are logged after training. */
const SHOWCASE_WORDS = ['war', 'peace', 'government', 'congress', 'economy', 'tax', 'freedom', 'money', 'whale', 'sea', 'free', 'school'];

function defineWord2Vec<N extends string>(name: N, mode: 'skipgram' | 'cbow') {
  return definePretextTask({
    name,
    family: 'context',
    modality: 'text',
    title: mode === 'cbow' ? 'word2vec CBOW (negative sampling)' : 'word2vec skip-gram (negative sampling)',
    paper: 'Mikolov, Sutskever, Chen, Corrado, Dean. Distributed Representations of Words and Phrases and their Compositionality. NeurIPS 2013',
    description:
      mode === 'cbow'
        ? 'Continuous bag of words: the mean of the input vectors of the words in a random window (1..5 each side) predicts the centre word against k=5 noise words from unigram^0.75 (negative sampling), after frequent-word subsampling. The encoder is the bag-of-embeddings table (input vectors); the head is the output-vector table.'
        : 'Skip-gram: each word in a random window (1..5 each side) of a centre word is scored against the centre word and k=5 noise words from unigram^0.75 (negative sampling), after frequent-word subsampling. The encoder is the bag-of-embeddings table (input vectors); the head is the output-vector table.',
    config: word2vecConfig,
    // The reference tool's optimiser (run by `fit`): plain per-example SGD, lr 0.025 (skip-gram) /
    // 0.05 (CBOW) decayed linearly to 0. Measured on SOTU: batched dense steps through the shared
    // loop fail (Adam: every vector collapses onto one direction, cos ≈ 1; SGD on the mean loss:
    // no learning at a stable lr). Default: 3 passes over SOTU's ~1.8M words (one pass leaves most
    // words near a shared direction: WordNet synonyms no closer than random pairs).
    trainDefaults: { epochs: 3, batchSize: 64, lr: mode === 'cbow' ? 0.05 : 0.025, optimizer: 'sgd', momentum: 0, schedule: 'linear', limit: 1_000_000 },
    // Any layout works (windows run over each row's tokens); rows of 3 consecutive sentences are
    // the layout the README's word-vector figures were measured on.
    dataNeeds: () => ({ sentencesPerItem: 3 }),
    // The trained input vectors are the method's product: write them in word2vec's text format.
    exportArtifacts: async ({ encoder, source, runDir }) => {
      const vocab = (source as { tokenizer?: { vocab: Vocabulary } }).tokenizer?.vocab;
      if (!vocab) return [];
      const wv = await wordVectorsOf(encoder, vocab);
      const file = path.join(runDir, 'vectors.txt');
      await writeFile(file, wv.toText());
      return [
        `word vectors (word2vec text format) saved to ${file}`,
        ...SHOWCASE_WORDS.filter((w) => vocab.has(w))
          .slice(0, 6)
          .map(
            (w) =>
              `  nearest(${w}): ${wv
                .nearest(w, 8)
                .map((n) => `${n.word} ${n.score.toFixed(2)}`)
                .join(', ')}`,
          ),
      ];
    },
    createHeads: ({ featureDim, encoder }) => {
      if (!encoder) throw new SslError(`${name} sizes its output vectors from the encoder's vocabulary; it must be given the encoder (HeadContext.encoder).`);
      const vocabSize = embeddingTableOf(encoder).shape[0]!;
      return { output: outputEmbeddings(vocabSize, featureDim) };
    },
    // Training: the reference tool's sequential SGD on the encoder's table (see word2vecSgdStep),
    // over the same examples `prepare` builds; prepare/loss are that objective as tensors.
    fit: async ({ config, encoder, source, epochs, batchSize, lr, seed, log }) => {
      const table = embeddingTableOf(encoder);
      const [rows, dim] = table.shape as [number, number];
      const input = (await table.read().data()).slice() as Float32Array;
      const output = new Float32Array(rows * dim);
      const steps = Math.ceil(source.size / batchSize);
      const history: Array<{ step: number; epoch: number; loss: number; lr: number }> = [];
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = Rng.derive(seed, 'epoch', epoch).permutation(source.size);
        const t0 = performance.now();
        for (let s = 0; s < steps; s++) {
          const step = epoch * steps + s;
          const rng = Rng.derive(seed, 'step', step);
          const raw = source.batch(order.subarray(s * batchSize, (s + 1) * batchSize), rng.fork('data'));
          if (!raw.vocabCounts)
            throw new SslError(`${name} needs the vocabulary's word counts (TextBatch.vocabCounts); use a text source from createTextSource.`);
          if (raw.vocabCounts.length !== rows)
            throw new SslError(
              `${name}: the encoder's table has ${rows} rows but the vocabulary has ${raw.vocabCounts.length} ids; build the encoder with vocabSize = tokenizer.size`,
            );
          const rate = learningRateAt(step, epochs * steps, lr, 0, 'linear');
          const loss = word2vecSgdStep(word2vecExamples(mode, raw, raw.vocabCounts, config, rng.fork('task')), input, output, dim, rate);
          history.push({ step, epoch, loss, lr: rate });
        }
        const last = history.slice(-Math.min(steps, 20));
        log(
          `epoch ${epoch + 1}/${epochs}  loss ${(last.reduce((a, h) => a + h.loss, 0) / last.length).toFixed(4)} (mean of the last ${last.length} batches)  ${((performance.now() - t0) / 1000).toFixed(1)}s`,
        );
      }
      table.write(tf.tensor2d(input, [rows, dim]));
      return { history };
    },
    prepare: (raw, { config, rng }) => {
      if (!raw.vocabCounts)
        throw new SslError(
          `${name} needs the vocabulary's word counts (TextBatch.vocabCounts) for subsampling and noise; use a text source from createTextSource.`,
        );
      const ex = word2vecExamples(mode, raw, raw.vocabCounts, config, rng);
      return {
        x: tf.tensor2d(ex.inputs, [ex.count, ex.inputWidth], 'int32'),
        outputs: tf.tensor2d(ex.outputs, [ex.count, 1 + config.negatives], 'int32'),
        weights: tf.tensor2d(ex.weights, [ex.count, 1 + config.negatives]),
        // Mean over the examples (an empty batch's dummy row has weight 0 and gives loss 0).
        scale: tf.scalar(1 / ex.count),
      };
    },
    loss: ({ encode, heads, batch }) => {
      const h = encode(batch.x);
      const v = heads.output.apply(batch.outputs) as tf.Tensor3D;
      return word2vecLoss(h, v, batch.weights, batch.scale);
    },
  });
}

/**
 * word2vec skip-gram with negative sampling as a registered pretext task (text modality,
 * bag-of-embeddings encoder = input vectors, head = output vectors).
 *
 * @example
 * await train({ task: word2vecSkipgramTask, encoder: createBagOfEmbeddings({ vocabSize, dim: 100 }), source: textSource });
 */
export const word2vecSkipgramTask = defineWord2Vec('word2vec-skipgram', 'skipgram');

/**
 * word2vec CBOW with negative sampling as a registered pretext task.
 *
 * @example
 * await train({ task: word2vecCbowTask, encoder, source: textSource });
 */
export const word2vecCbowTask = defineWord2Vec('word2vec-cbow', 'cbow');

/**
 * The trained word vectors of a text encoder: its embedding table (word2vec's input vectors)
 * with the tokenizer's vocabulary, for `nearest`, `analogy` and the word2vec text export.
 *
 * @example
 * const wv = await wordVectorsOf(encoder, tokenizer.vocab);
 * writeFileSync('vectors.txt', wv.toText());
 */
export async function wordVectorsOf(encoder: tf.LayersModel, vocab: Vocabulary): Promise<WordVectors> {
  const table = embeddingTableOf(encoder).read();
  const [rows, dim] = table.shape as [number, number];
  if (rows !== vocab.size)
    throw new SslError(`encoder embedding table has ${rows} rows but the vocabulary has ${vocab.size} tokens; use the tokenizer the encoder was trained with`);
  return new WordVectors(vocab, dim, (await table.data()) as Float32Array);
}
