import type * as tf from '@tensorflow/tfjs';
import { NamedRegistry, SslError, type DataSource } from '@ssl/core';
import { extractFeatures, labelsOf, type FeatureSet } from './features';
import { evaluateFewShot } from './fewshot';
import { fineTune } from './finetune';
import { knnClassify } from './knn';
import { multiLabelProbe } from './multilabel';
import { linearProbe } from './probe';
import { labelFractionSplit } from './splits';

/** Frozen features of the train and test split. */
export interface SplitFeatures {
  train: FeatureSet;
  test: FeatureSet;
}

/** What a protocol gets: the encoder, the labelled splits it sees, their features on demand. */
export interface ProtocolContext {
  /** The encoder under evaluation (a protocol that trains it, such as fine-tuning, changes it in place). */
  encoder: tf.LayersModel;
  /** Labelled splits, already mapped to what the encoder reads (a task's encoder view). */
  splits: { train: DataSource<unknown>; test: DataSource<unknown> };
  /** Frozen features of both splits (extracted once, with the label fraction applied to train). */
  features(): Promise<SplitFeatures>;
  /** Fraction of the labelled training items a protocol may use (class-balanced, seeded); 1 = all. */
  labelFraction: number;
  /** Epochs of a probe trained on frozen features. */
  epochs: number;
  seed: number;
  /** Protocol options from the dataset or the command line (e.g. `{ labels: 10 }`). */
  options: Record<string, unknown>;
}

/** One downstream measurement (higher is better). */
export interface ProtocolScore {
  /** What was measured, e.g. "linear probe top-1". */
  metric: string;
  value: number;
}

/** Everything that defines an evaluation protocol. Build one with {@link defineProtocol}. */
export interface ProtocolSpec {
  /** The `--protocol` name. */
  name: string;
  /** One line for `ssl list` and `--help`. */
  summary: string;
  run(ctx: ProtocolContext): Promise<ProtocolScore>;
}

/** A protocol value, frozen and branded for registries. */
export type Protocol = Readonly<ProtocolSpec> & { readonly kind: 'protocol' };

/**
 * Defines an evaluation protocol (linear probe, kNN, fine-tuning...). Register it with
 * `createProtocolRegistry().use(...)` or `--plugin`.
 *
 * @example
 * export const nearestMean = defineProtocol({ name: 'nearest-mean', summary: 'nearest class mean', run: async (ctx) => {
 *   const { train, test } = await ctx.features();
 *   return { metric: 'nearest class mean top-1', value: nearestMeanAccuracy(train, test) };
 * } });
 */
export function defineProtocol(spec: ProtocolSpec): Protocol {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(spec.name))
    throw new SslError(`Invalid protocol name "${spec.name}": must be kebab-case, e.g. "linear" or "few-shot".`);
  return Object.freeze({ ...spec, kind: 'protocol' as const });
}

/**
 * Keeps a class-balanced, seeded fraction of the labelled training rows of a feature set.
 *
 * @example
 * const tenPercent = keepLabelFraction(trainFeatures, 0.1, 0);
 */
export function keepLabelFraction(f: FeatureSet, fraction: number, seed: number): FeatureSet {
  if (fraction >= 1) return f;
  const labels = f.labels;
  if (!labels) throw new SslError('This dataset has no labels; a label fraction (--labels) needs a labelled dataset.');
  const keep = labelFractionSplit(labels, fraction, seed);
  const { dim } = f;
  const out: FeatureSet = { features: new Float32Array(keep.length * dim), n: keep.length, dim, labels: new Int32Array(keep.length) };
  keep.forEach((row, i) => {
    out.features.set(f.features.subarray(row * dim, (row + 1) * dim), i * dim);
    out.labels![i] = labels[row]!;
  });
  return out;
}

/**
 * A {@link ProtocolContext} for an encoder and labelled splits; features are extracted once.
 *
 * @example
 * const score = await linearProtocol.run(protocolContext(encoder, splits, { epochs: 30, seed: 0 }));
 */
export function protocolContext(
  encoder: tf.LayersModel,
  splits: ProtocolContext['splits'],
  opts: {
    epochs: number;
    seed: number;
    labelFraction?: number;
    options?: Record<string, unknown>;
    /** Progress of the feature extraction, per split (rows done, total). */
    onProgress?: (split: 'train' | 'test', done: number, total: number) => void;
  },
): ProtocolContext {
  let cached: Promise<SplitFeatures> | undefined;
  const labelFraction = opts.labelFraction ?? 1;
  const extract = (split: 'train' | 'test') => extractFeatures(encoder, splits[split], { onProgress: (d, t) => opts.onProgress?.(split, d, t) });
  return {
    encoder,
    splits,
    labelFraction,
    epochs: opts.epochs,
    seed: opts.seed,
    options: opts.options ?? {},
    features: () =>
      (cached ??= (async () => ({
        train: keepLabelFraction(await extract('train'), labelFraction, opts.seed),
        test: await extract('test'),
      }))()),
  };
}

function needLabels(f: SplitFeatures): { train: FeatureSet; test: FeatureSet } {
  if (!f.train.labels || !f.test.labels)
    throw new SslError('This dataset has no labels, so no probe can be measured. Use a labelled dataset (class folders) for evaluation.');
  return f;
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const what = (o: Record<string, unknown>) => (typeof o.label === 'string' ? ` (${o.label})` : '');

/** Softmax linear probe on frozen features, test top-1. */
export const linearProtocol = defineProtocol({
  name: 'linear',
  summary: 'softmax linear probe on frozen features, test top-1',
  run: async (ctx) => {
    const { train, test } = needLabels(await ctx.features());
    return { metric: 'linear probe top-1', value: (await linearProbe(train, test, { epochs: ctx.epochs, seed: ctx.seed })).accuracy };
  },
});

/** Weighted cosine kNN (k = 20, T = 0.07) on frozen features, test top-1. */
export const knnProtocol = defineProtocol({
  name: 'knn',
  summary: 'cosine kNN on frozen features, k=20, temperature-weighted votes, test top-1',
  run: async (ctx) => {
    const { train, test } = needLabels(await ctx.features());
    const k = num(ctx.options.k, 20);
    return { metric: `kNN top-1 (k=${k})`, value: (await knnClassify(train, test, { k })).accuracy };
  },
});

/** Encoder + linear head trained end to end on the labelled images, test top-1. */
export const fineTuneProtocol = defineProtocol({
  name: 'finetune',
  summary: 'encoder + linear head trained end to end (images), test top-1; option epochs (default 5)',
  run: async (ctx) => {
    const { train, test } = ctx.splits;
    if (train.modality !== 'image')
      throw new SslError(`--protocol finetune supports image datasets; this dataset is ${train.modality} data. Use --protocol linear or knn.`);
    let labelled = train as DataSource<never> & { labels?: Int32Array };
    if (ctx.labelFraction < 1) {
      const labels = labelsOf(labelled);
      if (!labels) throw new SslError('This dataset has no labels; --labels needs a labelled dataset.');
      const keep = labelFractionSplit(labels, ctx.labelFraction, ctx.seed);
      labelled = {
        modality: 'image',
        size: keep.length,
        labels: Int32Array.from(keep, (i) => labels[i]!),
        batch: (idx, rng) =>
          train.batch(
            Int32Array.from(idx, (i) => keep[i]!),
            rng,
          ) as never,
      };
    } else if (!labelled.labels) {
      const labels = labelsOf(labelled);
      if (labels) labelled = { modality: 'image', size: train.size, labels, batch: (idx, rng) => train.batch(idx, rng) as never };
    }
    const r = await fineTune(ctx.encoder, labelled, test as DataSource<never>, { epochs: num(ctx.options.epochs, 5), seed: ctx.seed });
    return { metric: 'fine-tune top-1', value: r.accuracy };
  },
});

/** One-vs-rest logistic regressions on label bitmasks, micro-F1. */
export const multiLabelProtocol = defineProtocol({
  name: 'multi-label',
  summary: 'one-vs-rest linear probes on label bitmasks (option labels: number of bits), micro-F1',
  run: async (ctx) => {
    const { train, test } = needLabels(await ctx.features());
    const bits = num(ctx.options.labels, Math.max(1, Math.ceil(Math.log2(Math.max(...train.labels!, 1) + 1))));
    const r = await multiLabelProbe(train, test, { labels: bits, epochs: Math.max(ctx.epochs, num(ctx.options.minEpochs, 0)) });
    return { metric: `multi-label linear probe${what(ctx.options)}, micro-F1`, value: r.microF1 };
  },
});

/** Class-balanced logistic regression on a binary label, balanced accuracy (for rare positives). */
export const balancedAccuracyProtocol = defineProtocol({
  name: 'balanced-accuracy',
  summary: 'class-balanced linear probe on a binary label (rare positives), balanced accuracy',
  run: async (ctx) => {
    const { train, test } = needLabels(await ctx.features());
    const r = await multiLabelProbe(train, test, { labels: 1, epochs: Math.max(ctx.epochs, num(ctx.options.minEpochs, 0)), balance: true });
    return { metric: `class-balanced linear probe${what(ctx.options)}, balanced accuracy`, value: r.balancedAccuracy };
  },
});

/** N-way K-shot nearest-prototype episodes on the test split's frozen features. */
export const fewShotProtocol = defineProtocol({
  name: 'few-shot',
  summary: 'N-way K-shot nearest-prototype episodes on frozen test features (options nWay 5, kShot 1, episodes 600)',
  run: async (ctx) => {
    const { test } = needLabels(await ctx.features());
    const nWay = num(ctx.options.nWay, 5);
    const kShot = num(ctx.options.kShot, 1);
    const r = evaluateFewShot(test, { nWay, kShot, nQuery: num(ctx.options.nQuery, 15), episodes: num(ctx.options.episodes, 600), seed: ctx.seed });
    return { metric: `${nWay}-way ${kShot}-shot accuracy`, value: r.accuracy };
  },
});

/**
 * Every built-in protocol, for `createProtocolRegistry().use(builtinProtocols)`.
 *
 * @example
 * const protocols = createProtocolRegistry().use(builtinProtocols);
 */
export const builtinProtocols: readonly Protocol[] = [
  linearProtocol,
  knnProtocol,
  fineTuneProtocol,
  multiLabelProtocol,
  balancedAccuracyProtocol,
  fewShotProtocol,
];

/**
 * Evaluation protocols by name: typed lookup, `.use()`, a one-line error on a typo.
 *
 * @example
 * createProtocolRegistry().use(builtinProtocols).find('knn');
 */
export class ProtocolRegistry extends NamedRegistry<Protocol> {
  constructor() {
    super({ noun: 'protocol', kind: 'protocol', hint: 'Pick one with --protocol.' });
  }
}

/**
 * An empty protocol registry; add the built-ins and plugins with `.use()`.
 *
 * @example
 * const protocols = createProtocolRegistry().use(builtinProtocols);
 */
export function createProtocolRegistry(): ProtocolRegistry {
  return new ProtocolRegistry();
}
