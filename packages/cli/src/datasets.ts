import type * as tf from '@tensorflow/tfjs';
import { Rng, SslError, type AnyPretextTask, type DataSource, type ImageBatch, type Modality } from '@ssl/core';
import { DATASET_SPECS, loadDataset } from '@ssl/data';
import { createEncoder } from '@ssl/encoders';
import { extractFeatures, knnClassify, linearProbe, type FeatureSet } from '@ssl/eval';

/** Where a dataset is read from and how big each split is. */
export interface DatasetContext {
  /** `--data-dir`, when given. */
  dataDir?: string;
  /** The run's seed (for datasets generated on the fly, e.g. Moving MNIST). */
  seed: number;
  /** `--image-size N`: image datasets resize every image to N×N. */
  imageSize?: number;
  /** `--test-fraction F`: image folders without train/ and test/ hold out F of each class for the probe. */
  testFraction?: number;
  /** Where data notes go (a stated split, a rebuilt cache); default stderr. */
  log?: (line: string) => void;
}

/** Labelled probe features of one encoder: train and test split. */
export interface ProbeFeatures {
  train: FeatureSet;
  test: FeatureSet;
}

/** One downstream measurement (higher is better). */
export interface ProbeScore {
  /** What was measured, e.g. "linear probe top-1" or "multi-label probe, mean F1". */
  metric: string;
  value: number;
}

/**
 * How the CLI pretrains and evaluates on one kind of data. Images, sequences, text and graphs
 * each bring one; `pretrain` and `eval` only talk to this interface.
 *
 * @example
 * registerDataset({ name: 'my-data', summary: 'my frames', modality: 'image', defaultEncoder: 'convnet', ... });
 */
export interface CliDataset {
  /** The `--dataset` value, or a prefix ending in `:` (e.g. `imagefolder:`) that takes a path. */
  name: string;
  /** One line for `--help`. */
  summary: string;
  modality: Modality;
  /** The encoder used when `--encoder` is not given. */
  defaultEncoder: string;
  /** Pretraining data: `limit` examples of the train split (labels are never shown to the task). */
  trainSource(arg: string, ctx: DatasetContext & { limit: number }): DataSource<unknown>;
  /** Input shape of the encoder for this data, read from the train source. */
  inputShape(source: DataSource<unknown>): number[];
  /**
   * Builds the encoder (random init, fixed by `seed`). Default: `createEncoder(name, config, inputShape, seed)`;
   * override when the encoder needs the data (a vocabulary size, a graph's adjacency).
   */
  createEncoder?(name: string, config: Record<string, unknown>, source: DataSource<unknown>, seed: number): tf.LayersModel;
  /**
   * Labelled features of a frozen encoder for the downstream probe. `view`, when given (the task's
   * `encoderView`), maps every raw batch to what the encoder sees; datasets must apply it.
   */
  probeFeatures(encoder: tf.LayersModel, arg: string, ctx: DatasetContext & { trainLimit: number; testLimit: number; view?: BatchView }): Promise<ProbeFeatures>;
  /** The downstream score. Default: softmax linear probe, top-1 accuracy on the test split. */
  probe?(f: ProbeFeatures, opts: { epochs: number; seed: number }): Promise<ProbeScore>;
  /**
   * Why no probe can be measured on this data (e.g. an unlabelled image folder), or undefined when it
   * can. `ssl pretrain` then pretrains, skips the probe and says why. Optional.
   */
  probeUnavailable?(arg: string, ctx: DatasetContext): string | undefined;
  /** Whether kNN top-1 is meaningful (single-label classes). Default true. */
  knn?: boolean;
  /**
   * Writes data-specific artefacts of the trained encoder into the run directory (text: the
   * tokenizer and word vectors) and returns lines for the log. Optional.
   */
  exportArtifacts?(encoder: tf.LayersModel, arg: string, ctx: DatasetContext & { runDir: string }): Promise<string[]>;
}

/** Maps a raw batch to the encoder's input (a task's `encoderView` with its config bound). */
export type BatchView = (raw: unknown) => unknown;

/**
 * The task's `encoderView` with its parsed config bound, or undefined when the encoder sees raw batches.
 *
 * @example
 * const view = taskView(registry.find('colorization'), cfg.taskConfig); // raw RGB batch → L batch
 */
export function taskView(task: AnyPretextTask, taskConfig: unknown): BatchView | undefined {
  const view = task.encoderView;
  return view ? (raw) => view(raw as never, taskConfig) : undefined;
}

/**
 * A data source whose batches go through `view` (e.g. RGB → the L channel a colorization encoder reads).
 *
 * @example
 * const greySource = viewSource(testSet, (b) => ({ ...b, images: toGrey(b.images) }));
 */
export function viewSource<B>(source: DataSource<B> & { labels?: Int32Array }, view: BatchView | undefined): DataSource<B> & { labels?: Int32Array } {
  if (!view) return source;
  const labels = source.labels;
  return { modality: source.modality, size: source.size, batch: (idx, rng) => view(source.batch(idx, rng)) as B, ...(labels ? { labels } : {}) };
}

const DATASETS: CliDataset[] = [];

/**
 * Wraps a loader so each distinct argument list is loaded once per process: the probe, the
 * random-init baseline and the kNN monitor ask for the same splits many times during one run.
 *
 * @example
 * const mnistTrain = cachedLoader(() => loadMnist('train', { limit: 10000 }));
 */
export function cachedLoader<A extends unknown[], T>(load: (...args: A) => T): (...args: A) => T {
  const cache = new Map<string, T>();
  return (...args) => {
    const key = JSON.stringify(args);
    if (!cache.has(key)) cache.set(key, load(...args));
    return cache.get(key)!;
  };
}

/**
 * Adds a dataset to the CLI's `--dataset` choices. A later registration with the same name replaces the earlier one.
 *
 * @example
 * registerDataset(myDataset);
 */
export function registerDataset(d: CliDataset): void {
  const i = DATASETS.findIndex((x) => x.name === d.name);
  if (i >= 0) DATASETS[i] = d;
  else DATASETS.push(d);
}

/** Every `--dataset` choice (or only those of one modality), for help and errors. */
export function datasetNames(modality?: Modality): string[] {
  return DATASETS.filter((d) => !modality || d.modality === modality).map((d) => (d.name.endsWith(':') ? `${d.name}PATH` : d.name));
}

/** Finds the dataset for a `--dataset` value; returns it with its argument (the part after a prefix). */
export function resolveDataset(spec: string): { dataset: CliDataset; arg: string } {
  for (const d of DATASETS) {
    if (d.name.endsWith(':') ? spec.startsWith(d.name) : spec === d.name) {
      const arg = d.name.endsWith(':') ? spec.slice(d.name.length) : spec;
      if (d.name.endsWith(':') && !arg) throw new SslError(`Dataset "${spec}" has no path. Write it as ${d.name}PATH.`);
      return { dataset: d, arg };
    }
  }
  throw new SslError(`Unknown dataset "${spec}". Must be one of [${datasetNames().join(', ')}].`);
}

/** Builds the random-init encoder a dataset asks for. */
export function buildEncoder(d: CliDataset, name: string, config: Record<string, unknown>, source: DataSource<unknown>, seed: number): tf.LayersModel {
  return d.createEncoder ? d.createEncoder(name, config, source, seed) : createEncoder(name, config, d.inputShape(source), seed);
}

/** Default probe: softmax linear probe, top-1 on the test split. */
export async function linearProbeScore(f: ProbeFeatures, opts: { epochs: number; seed: number }): Promise<ProbeScore> {
  if (!f.train.labels || !f.test.labels) throw new SslError('This dataset has no labels, so no linear probe can be measured. Use a labelled dataset (class folders) for evaluation.');
  return { metric: 'linear probe top-1', value: (await linearProbe(f.train, f.test, { epochs: opts.epochs, seed: opts.seed })).accuracy };
}

/** The dataset's probe score (its own, or the default linear probe). */
export function probeScore(d: CliDataset, f: ProbeFeatures, opts: { epochs: number; seed: number }): Promise<ProbeScore> {
  return d.probe ? d.probe(f, opts) : linearProbeScore(f, opts);
}

/** kNN top-1 (cosine, k=20), or NaN where the dataset says kNN does not apply. */
export async function knnScore(d: CliDataset, f: ProbeFeatures): Promise<number> {
  if (d.knn === false || !f.train.labels || !f.test.labels) return NaN;
  return (await knnClassify(f.train, f.test, { k: 20 })).accuracy;
}

/** Shape of one image of an image source. */
export function imageShape(source: DataSource<unknown>): number[] {
  const b = (source as DataSource<ImageBatch>).batch(Int32Array.of(0), new Rng(0));
  return [b.height, b.width, b.channels];
}

function imageDataset(name: string, summary: string): CliDataset {
  // A prefix dataset (imagefolder:) gets only its path as `arg`; @ssl/data wants the whole spec.
  // The command's log of the latest call (loads are cached per argument list, so it stays out of the key).
  let sink: ((line: string) => void) | undefined;
  const log = (line: string) => (sink ? sink(line) : void process.stderr.write(`${line}\n`));
  const loadSplit = cachedLoader((spec: string, split: 'train' | 'test', limit: number, dataDir?: string, imageSize?: number, testFraction?: number) =>
    loadDataset(spec, { split, limit, log, ...(dataDir ? { dataDir } : {}), ...(imageSize ? { size: [imageSize, imageSize] as [number, number] } : {}), ...(testFraction ? { testFraction } : {}) }),
  );
  const load = (arg: string, ctx: DatasetContext, split: 'train' | 'test', limit: number) => {
    sink = ctx.log;
    return loadSplit(name.endsWith(':') ? `${name}${arg}` : arg, split, limit, ctx.dataDir, ctx.imageSize, ctx.testFraction);
  };
  return {
    name,
    summary,
    modality: 'image',
    defaultEncoder: 'convnet',
    trainSource: (arg, ctx) => load(arg, ctx, 'train', ctx.limit),
    inputShape: imageShape,
    probeUnavailable(arg, ctx) {
      // Named datasets (mnist, fashion-mnist) are labelled; only a folder may hold unlabelled images.
      if (!name.endsWith(':')) return undefined;
      const train = load(arg, ctx, 'train', 2);
      return train.labels ? undefined : `"${train.name}" holds unlabelled images (no class folders), so there is nothing to probe. Pretraining uses them all; lay the folder out as <class>/*.jpg to get a probe.`;
    },
    async probeFeatures(encoder, arg, ctx) {
      return {
        train: await extractFeatures(encoder, viewSource(load(arg, ctx, 'train', ctx.trainLimit), ctx.view)),
        test: await extractFeatures(encoder, viewSource(load(arg, ctx, 'test', ctx.testLimit), ctx.view)),
      };
    },
  };
}

// The image datasets of @ssl/data; other families register theirs from ./datasets/*.
for (const spec of DATASET_SPECS) {
  const name = spec.endsWith(':PATH') ? spec.slice(0, -'PATH'.length) : spec;
  registerDataset(imageDataset(name, `images (${spec})`));
}
