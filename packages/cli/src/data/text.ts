import * as tf from '@tensorflow/tfjs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Rng, SslError, type DataSource } from '@ssl/core';
import { wordVectorsOf } from '@ssl/context';
import { buildTokenizer, createTextSource, loadTextCorpus, saveTokenizer, splitSentences, type TextCorpus, type TextSource, type TextTokenizer } from '@ssl/data';
import { ENCODERS, createEncoder, embeddingTableOf } from '@ssl/encoders';
import type { FeatureSet } from '@ssl/eval';
import { cachedLoader, linearProbeScore, registerDataset, type CliDataset, type ProbeFeatures } from '../datasets';

/**
 * How the CLI lays out every text corpus for pretraining: items of 3 consecutive sentences of one
 * document (next-sentence uses the first two; sentence order shuffles all three, Wu et al.'s setting; word2vec and masked LM take any
 * layout), 128 tokens, word-level vocabulary of the words seen ≥ 5 times.
 */
export const CLI_TEXT_LAYOUT = { length: 128, sentencesPerItem: 3, minCount: 5 } as const;

/** Longest document text the probe reads, in chunks of the source's length (2048 tokens covers a Brown sample). */
const PROBE_MAX_CHUNKS = 16;

const corpusOf: (spec: string) => TextCorpus = cachedLoader((spec: string) => loadTextCorpus(spec));
const tokenizerOf: (spec: string) => TextTokenizer = cachedLoader((spec: string) => buildTokenizer(corpusOf(spec), { minCount: CLI_TEXT_LAYOUT.minCount }));

/**
 * The CLI's pretraining source of a text corpus spec (`sotu`, `brown`, `textdir:PATH`...), cached.
 *
 * @example
 * const src = textTrainSource('sotu', 100_000); // src.tokenizer.size, src.batch(...)
 */
export const textTrainSource: (spec: string, limit: number) => TextSource = cachedLoader((spec: string, limit: number) =>
  createTextSource(corpusOf(spec), tokenizerOf(spec), { length: CLI_TEXT_LAYOUT.length, sentencesPerItem: CLI_TEXT_LAYOUT.sentencesPerItem, limit }),
);

/** The labelled corpus a text corpus is probed on: itself when labelled, else Brown genres. */
export function probeCorpusFor(spec: string): string {
  const c = corpusOf(spec);
  return c.classes && c.classes.length > 1 ? spec : 'brown';
}

/** Stratified split of document indices: the first `trainFraction` of each class (seeded order) for training. */
function stratifiedSplit(labels: number[], trainFraction: number, seed: number): { train: number[]; test: number[] } {
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const c of [...new Set(labels)].sort((a, b) => a - b)) {
    const docs = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    rng.shuffle(docs);
    const cut = Math.round(docs.length * trainFraction);
    train.push(...docs.slice(0, cut));
    test.push(...docs.slice(cut));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/**
 * Document features of a frozen text encoder: each document is tokenised with `tokenizer`, cut
 * into chunks of `length` tokens (at most 16), each chunk encoded, and the chunk features averaged
 * weighted by their token counts (for a bag-of-embeddings encoder: exactly the mean word vector
 * of the document's first 2048 tokens).
 *
 * @example
 * const f = await documentFeatures(encoder, tokenizer, corpus, [0, 1, 2], 128);
 */
export async function documentFeatures(encoder: tf.LayersModel, tokenizer: TextTokenizer, corpus: TextCorpus, docs: readonly number[], length: number): Promise<FeatureSet> {
  const chunks: Int32Array[] = [];
  const owner: number[] = [];
  const weight: number[] = [];
  docs.forEach((d, row) => {
    const ids = splitSentences(corpus.documents[d]!.text).flatMap((s) => Array.from(tokenizer.encode(s)));
    const n = Math.max(1, Math.min(PROBE_MAX_CHUNKS, Math.ceil(ids.length / length)));
    for (let c = 0; c < n; c++) {
      const chunk = new Int32Array(length);
      const part = ids.slice(c * length, (c + 1) * length);
      chunk.set(part);
      chunks.push(chunk);
      owner.push(row);
      weight.push(Math.max(part.length, 1e-3));
    }
  });
  const flat = new Int32Array(chunks.length * length);
  chunks.forEach((c, i) => flat.set(c, i * length));
  const out = tf.tidy(() => encoder.predict(tf.tensor2d(flat, [chunks.length, length], 'int32'), { batchSize: 256 }) as tf.Tensor2D);
  const values = (await out.data()) as Float32Array;
  const dim = out.shape[1];
  out.dispose();
  const features = new Float32Array(docs.length * dim);
  const total = new Float64Array(docs.length);
  owner.forEach((row, i) => {
    total[row]! += weight[i]!;
    for (let k = 0; k < dim; k++) features[row * dim + k]! += weight[i]! * values[i * dim + k]!;
  });
  for (let row = 0; row < docs.length; row++) for (let k = 0; k < dim; k++) features[row * dim + k]! /= total[row]!;
  const labels = corpus.documents.every((d) => d.label !== undefined) ? Int32Array.from(docs, (d) => corpus.documents[d]!.label!) : undefined;
  return { features, n: docs.length, dim, labels };
}

/**
 * Labelled probe features of a text encoder trained on `trainSpec`: documents of `probeSpec`
 * (Brown genre, SpamAssassin ham/spam...), tokenised with the training corpus' tokenizer, split
 * stratified 60/40 (Brown) or 70/30 (others) with a fixed seed.
 *
 * @example
 * const { train, test } = await textProbeFeatures(encoder, 'sotu', 'spam', { trainLimit: 10000, testLimit: 10000 });
 */
export async function textProbeFeatures(encoder: tf.LayersModel, trainSpec: string, probeSpec: string, limits: { trainLimit: number; testLimit: number }): Promise<ProbeFeatures> {
  const corpus = corpusOf(probeSpec);
  if (!corpus.classes || corpus.documents.some((d) => d.label === undefined)) {
    throw new SslError(`text corpus '${probeSpec}' has no document labels, so no probe can be measured; probe on brown or spam, or a textdir with class sub-folders`);
  }
  const split = stratifiedSplit(
    corpus.documents.map((d) => d.label!),
    corpus.documents.length <= 1000 ? 0.6 : 0.7,
    0,
  );
  const tokenizer = tokenizerOf(trainSpec);
  return {
    train: await documentFeatures(encoder, tokenizer, corpus, split.train.slice(0, limits.trainLimit), CLI_TEXT_LAYOUT.length),
    test: await documentFeatures(encoder, tokenizer, corpus, split.test.slice(0, limits.testLimit), CLI_TEXT_LAYOUT.length),
  };
}

/** Frequent content words whose nearest neighbours the CLI prints after training word vectors. */
const SHOWCASE_WORDS = ['war', 'peace', 'government', 'congress', 'economy', 'tax', 'freedom', 'money', 'whale', 'sea', 'free', 'school'];

function textDataset(name: string, summary: string): CliDataset {
  const spec = (arg: string) => (name.endsWith(':') ? `${name}${arg}` : arg);
  return {
    name,
    summary,
    modality: 'text',
    defaultEncoder: 'bag-of-embeddings',
    trainSource: (arg, ctx) => textTrainSource(spec(arg), ctx.limit),
    inputShape: (source) => [(source as TextSource).length],
    createEncoder(encoderName, config, source: DataSource<unknown>, seed) {
      // Text encoders declare a `vocabSize` field; the dataset fills it from its tokenizer.
      const shape = (ENCODERS as Record<string, { config: { shape?: Record<string, unknown> } }>)[encoderName]?.config.shape ?? {};
      const src = source as TextSource;
      const withVocab = 'vocabSize' in shape ? { ...config, vocabSize: src.tokenizer.size } : config;
      return createEncoder(encoderName, withVocab, [src.length], seed);
    },
    probeFeatures: (encoder, arg, ctx) => textProbeFeatures(encoder, spec(arg), probeCorpusFor(spec(arg)), ctx),
    async probe(f, opts) {
      const s = await linearProbeScore(f, opts);
      const classes = new Set(f.train.labels ?? []).size;
      return { ...s, metric: `${s.metric} (${classes}-class document probe)` };
    },
    async exportArtifacts(encoder, arg, ctx) {
      const tokenizer = tokenizerOf(spec(arg));
      saveTokenizer(path.join(ctx.runDir, 'tokenizer.json'), tokenizer);
      const lines = [`probe corpus: ${probeCorpusFor(spec(arg))} documents (${spec(arg)} ${corpusOf(spec(arg)).classes ? 'is labelled' : 'has no labels'})`, `tokenizer saved to ${path.join(ctx.runDir, 'tokenizer.json')}`];
      let rows: number | undefined;
      try {
        rows = embeddingTableOf(encoder).shape[0] ?? undefined;
      } catch {
        return lines; // not an embedding-table encoder: no word vectors to export
      }
      if (rows !== tokenizer.size) return lines;
      const wv = await wordVectorsOf(encoder, tokenizer.vocab);
      await writeFile(path.join(ctx.runDir, 'vectors.txt'), wv.toText());
      lines.push(`word vectors (word2vec text format) saved to ${path.join(ctx.runDir, 'vectors.txt')}`);
      for (const w of SHOWCASE_WORDS.filter((x) => tokenizer.vocab.has(x)).slice(0, 6)) {
        lines.push(`  nearest(${w}): ${wv.nearest(w, 8).map((n) => `${n.word} ${n.score.toFixed(2)}`).join(', ')}`);
      }
      return lines;
    },
  };
}

registerDataset(textDataset('sotu', 'text: State of the Union addresses (233 documents, unlabelled; probed on Brown genres)'));
registerDataset(textDataset('moby-dick', 'text: Moby Dick chapters (unlabelled; probed on Brown genres)'));
registerDataset(textDataset('brown', 'text: Brown corpus, 500 documents, 15 genre labels (probe: genre)'));
registerDataset(textDataset('spam', 'text: SpamAssassin e-mails, ham/spam labels (probe: ham vs spam)'));
registerDataset(textDataset('textdir:', 'text: a .txt file or folder of .txt files (sub-folders = classes; unlabelled ones are probed on Brown genres)'));
