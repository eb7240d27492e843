import type * as tf from '@tensorflow/tfjs';
import { Rng, SslError, createProgress, type AnyPretextTask, type DataSource, type EncoderInputs, type Progress } from '@ssl/core';
import type { Dataset, DatasetContext, LabelledSplits } from '@ssl/data';
import { knnProtocol, protocolContext, type ProtocolScore, type SplitFeatures } from '@ssl/eval';
import type { Catalogue } from './catalogue';
import { runDataContext, type RunConfig } from './config';

/** Maps a raw batch to the encoder's input (a task's `encoderView` with its config bound). */
export type BatchView = (raw: unknown) => unknown;

/**
 * The task's `encoderView` with its parsed config bound, or undefined when the encoder sees raw batches.
 *
 * @example
 * const view = taskView(catalogue.tasks.find('colorization'), cfg.taskConfig); // raw RGB batch → L batch
 */
export function taskView(task: AnyPretextTask | undefined, taskConfig: unknown): BatchView | undefined {
  const view = task?.encoderView;
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

/** The items `order[0..n)` of a labelled source, renumbered from 0. */
function subset<B>(source: DataSource<B> & { labels?: Int32Array }, order: Int32Array): DataSource<B> & { labels?: Int32Array } {
  const labels = source.labels ? Int32Array.from(order, (i) => source.labels![i]!) : undefined;
  return {
    modality: source.modality,
    size: order.length,
    batch: (idx, rng) =>
      source.batch(
        Int32Array.from(idx, (i) => order[i]!),
        rng,
      ),
    ...(labels ? { labels } : {}),
  };
}

/**
 * Splits a labelled training source into a probe-training part and `held` validation items,
 * chosen by a permutation seeded with `seed` (so class-ordered sources are split fairly).
 *
 * @example
 * const { train, test } = holdOut(splits.train, 5000, 0); // test: 5,000 items never used to fit
 */
export function holdOut<B>(
  source: DataSource<B> & { labels?: Int32Array },
  held: number,
  seed: number,
): { train: DataSource<B> & { labels?: Int32Array }; test: DataSource<B> & { labels?: Int32Array } } {
  if (held >= source.size) {
    throw new SslError(
      `probe.validation=${held} leaves no items to fit the probe: the labelled training split has ${source.size}. Use a value below ${source.size} (e.g. ${Math.max(10, Math.floor(source.size / 5))}).`,
    );
  }
  const order = new Rng(`validation:${seed}`).permutation(source.size);
  return { train: subset(source, order.subarray(held)), test: subset(source, order.subarray(0, held)) };
}

/** The resolved pieces of a run: task, dataset, training data, encoder factory and evaluation. */
export interface RunPlan {
  task: AnyPretextTask | undefined;
  dataset: Dataset;
  /** The argument of a prefix dataset (its path), else the dataset's name. */
  arg: string;
  ctx: DatasetContext;
  train: DataSource<unknown>;
  /** What the encoder is built for (input shape, vocabulary, graph). */
  encoderInputs: EncoderInputs;
  view: BatchView | undefined;
  /** The encoder of the config at random init (weights fixed by the seed). */
  createEncoder(): tf.LayersModel;
  /** Labelled evaluation splits (view applied), at the given limits. */
  splits(limits?: { trainLimit: number; testLimit: number }): LabelledSplits;
  /**
   * Scores an encoder with the dataset's protocol (or `protocol`), plus kNN where it applies;
   * returns the features too (for the report's embedding).
   */
  evaluate(
    encoder: tf.LayersModel,
    opts?: {
      protocol?: string;
      options?: Record<string, unknown>;
      labelFraction?: number;
      limits?: { trainLimit: number; testLimit: number };
      knn?: boolean;
      features?: boolean;
      /** Draw a progress bar on stderr (a TTY) while features are extracted, under this label. */
      progress?: string;
    },
  ): Promise<Evaluation>;
}

/** What {@link RunPlan.evaluate} measures. */
export interface Evaluation {
  score: ProtocolScore;
  /** kNN top-1 (k = 20), NaN where the dataset says kNN does not apply or it was not asked for. */
  knn: number;
  features: SplitFeatures | undefined;
}

/**
 * Resolves a run config against a catalogue: the dataset (checked against the task's modality),
 * its training data, the encoder's inputs, the task's encoder view and the evaluation.
 *
 * @example
 * const plan = planRun(builtinCatalogue(), cfg);
 * const encoder = plan.createEncoder();
 * const { score } = await plan.evaluate(encoder);
 */
export function planRun(
  catalogue: Catalogue,
  cfg: RunConfig,
  task: AnyPretextTask | undefined,
  opts: { trainLimit?: number; log?: (line: string) => void } = {},
): RunPlan {
  const { dataset, arg } = catalogue.datasets.resolve(cfg.dataset);
  if (task && task.modality !== dataset.modality) {
    throw new SslError(
      `Method "${cfg.method}" trains on ${task.modality} data but dataset "${cfg.dataset}" is ${dataset.modality} data. Pick a ${task.modality} dataset (one of [${catalogue.datasets.choices(task.modality).join(', ')}]).`,
    );
  }
  const needs = task?.dataNeeds?.(cfg.taskConfig);
  const ctx: DatasetContext = { ...runDataContext(cfg), ...(opts.log ? { log: opts.log } : {}), ...(needs ? { needs } : {}) };
  const train = dataset.train(arg, { ...ctx, limit: opts.trainLimit ?? cfg.limit });
  const sample = dataset.sampleShape(train);
  const inputShape = task?.encoderInputShape ? task.encoderInputShape(sample, cfg.taskConfig) : sample;
  const encoderInputs: EncoderInputs = { ...(dataset.encoderInputs?.(train) ?? {}), inputShape };
  const view = taskView(task, cfg.taskConfig);
  const splits = (limits = { trainLimit: cfg.probe.trainLimit, testLimit: cfg.probe.testLimit }): LabelledSplits => {
    const held = cfg.probe.validation;
    if (held) {
      // The test split is never read: the probe's labelled training items are split instead.
      const s = dataset.probeSplits(arg, { ...ctx, trainLimit: limits.trainLimit + held, testLimit: 10, inputShape });
      const { train, test } = holdOut(s.train, held, cfg.seed);
      return { train: viewSource(train, view), test: viewSource(test, view) };
    }
    const s = dataset.probeSplits(arg, { ...ctx, ...limits, inputShape });
    return { train: viewSource(s.train, view), test: viewSource(s.test, view) };
  };
  return {
    task,
    dataset,
    arg,
    ctx,
    train,
    encoderInputs,
    view,
    createEncoder: () => catalogue.encoders.create(cfg.encoder, cfg.encoderConfig, encoderInputs, cfg.seed),
    splits,
    async evaluate(encoder, o = {}) {
      const choice = o.protocol
        ? { name: o.protocol, options: o.options ?? {} }
        : { name: dataset.protocol?.name ?? 'linear', options: { ...(dataset.protocol?.options ?? {}), ...(o.options ?? {}) } };
      const protocol = catalogue.protocols.find(choice.name);
      const pc = protocolContext(encoder, splits(o.limits), {
        epochs: cfg.probe.epochs,
        seed: cfg.seed,
        labelFraction: o.labelFraction ?? 1,
        options: choice.options,
        onProgress: o.progress ? featureProgress(o.progress) : undefined,
      });
      const score = await protocol.run(pc);
      const features = o.features === false ? undefined : await pc.features();
      const note = dataset.metricNote && features?.train.labels ? dataset.metricNote(new Set(features.train.labels).size) : '';
      const knn = o.knn !== false && dataset.knn !== false && features?.train.labels && features.test.labels ? (await knnProtocol.run(pc)).value : NaN;
      const split = cfg.probe.validation ? ` (validation: ${cfg.probe.validation} held-out training items)` : '';
      return { score: { metric: `${score.metric}${note}${split}`, value: score.value }, knn, features };
    },
  };
}

/** One progress bar per split for feature extraction (silent when stderr is not a TTY). */
function featureProgress(label: string): (split: 'train' | 'test', done: number, total: number) => void {
  const bars = new Map<string, Progress>();
  return (split, done, total) => {
    let bar = bars.get(split);
    if (!bar) bars.set(split, (bar = createProgress({ label: `${label}: ${split} features`, total })));
    bar.update(done);
    if (done >= total) bar.finish();
  };
}
