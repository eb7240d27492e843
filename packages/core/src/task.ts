import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { Rng } from './rng';
import type { BatchByModality, DataNeeds, DataSource, Family, ImageTransformSet, Modality } from './types';

/** The raw batch type for a modality (families add theirs to `BatchByModality`). */
export type RawBatch<M extends Modality> = M extends keyof BatchByModality ? BatchByModality[M] : unknown;

/** Tensors a pretext task builds from a raw batch (inputs, targets, masks...). */
export type PretextBatch = Record<string, tf.Tensor>;

/** What a task gets when it builds its heads on top of the shared encoder. */
export interface HeadContext<C> {
  config: C;
  /** Size of the encoder's feature vector. */
  featureDim: number;
  /** Shape of one raw example, e.g. [28, 28, 1]. */
  inputShape: number[];
  /** Seed for the heads' initialisers (derived from the run's seed). */
  seed: number;
  /** The shared encoder, for heads sized by or tied to it (e.g. a vocabulary's output embeddings). Do not train it here. */
  encoder?: tf.LayersModel;
}

/** What a task gets when it turns a raw batch into model inputs and targets. */
export interface PrepareContext<C> {
  config: C;
  /** The step's own generator: the same step always gets the same stream. */
  rng: Rng;
  training: boolean;
}

/**
 * What a task's loss sees: the shared encoder, its heads, the prepared batch. `B` is the type
 * `prepare` returns, so the loss reads `batch.x` without assertions.
 */
export interface LossContext<C, H extends Heads = Heads, S = unknown, B extends PretextBatch = PretextBatch> {
  config: C;
  encoder: tf.LayersModel;
  heads: H;
  batch: B;
  /** Task-owned state from `createState` (momentum encoder, queue, memory bank...). */
  state: S;
  training: boolean;
  /** Encodes a batch with the shared encoder in the right mode. */
  encode(x: tf.Tensor): tf.Tensor2D;
  /**
   * Hands the trainer the embedding whose collapse it monitors (e.g. the projector output of one
   * view); optional to call, a no-op on steps that are not measured (see `embeddingEvery`).
   */
  monitorEmbedding?(z: tf.Tensor2D): void;
}

/** What a task's own optimisation loop ({@link PretextTaskSpec.fit}) gets from `train()`. */
export interface FitContext<C, B> {
  config: C;
  encoder: tf.LayersModel;
  source: { readonly size: number; batch(indices: Int32Array, rng: Rng): B };
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  log: (line: string) => void;
}

/** Named sub-models a task trains beside the encoder (classifier, decoder, projector...). */
export type Heads = Record<string, tf.LayersModel>;

/** Per-step state owned by a task; its variables are checkpointed with the model. */
export interface TaskState {
  /** Tensors to save in checkpoints and restore on resume. */
  variables(): tf.Variable[];
  /** Runs after each optimiser step (EMA updates, queue pushes...). */
  afterStep?(ctx: { encoder: tf.LayersModel; heads: Heads; batch: PretextBatch; step: number; totalSteps?: number }): void;
  dispose(): void;
}

/** Trainer settings a task suggests (the paper's, scaled to run in minutes on 2 cores). */
export interface TrainDefaults {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'adam' | 'sgd';
  weightDecay?: number;
  limit?: number;
  /** SGD momentum (word2vec: 0, plain SGD). */
  momentum?: number;
  schedule?: 'cosine' | 'constant' | 'linear';
}

/**
 * Everything that defines a pretext task. Build one with {@link definePretextTask}.
 * `C` is the zod schema of its config; its parsed type flows into every hook. `B` is the
 * prepared batch: inferred from what `prepare` returns, it is the type `loss` sees.
 */
export interface PretextTaskSpec<
  N extends string = string,
  C extends z.ZodTypeAny = z.ZodTypeAny,
  M extends Modality = Modality,
  H extends Heads = Heads,
  S = undefined,
  B extends PretextBatch = PretextBatch,
> {
  /** Unique kebab-case name, e.g. `rotation`. */
  name: N;
  family: Family;
  /** Optional sub-group within the family for the docs' methods index, e.g. `joint-embedding`, `masked image modelling`. */
  group?: string;
  modality: M;
  /** Human title, e.g. "Rotation prediction (RotNet)". */
  title: string;
  /** Paper reference, e.g. "Gidaris et al., ICLR 2018". */
  paper: string;
  /** One paragraph: the pretext task and what it makes the encoder learn. */
  description: string;
  /** Zod schema of the task's config; defaults are the paper's. */
  config: C;
  /** Trainer defaults for this method (epochs, batch size, learning rate...). */
  trainDefaults?: TrainDefaults;
  /** Builds the task's heads. */
  createHeads(ctx: HeadContext<z.output<C>>): H;
  /** Optional per-run state (momentum encoders, queues, banks). */
  createState?(
    ctx: HeadContext<z.output<C>> & { encoder: tf.LayersModel; /** The heads `createHeads` built (e.g. to copy into a momentum network). */ heads?: H },
  ): S;
  /** Turns a raw batch into tensors (the pretext data construction). Runs inside tf.tidy. */
  prepare(raw: RawBatch<M>, ctx: PrepareContext<z.output<C>>): B;
  /** The pretext loss. Runs inside the trainer's gradient tape. */
  loss(ctx: LossContext<z.output<C>, H, S, B>): tf.Scalar;
  /**
   * Optional: the task optimises the encoder itself instead of the trainer's batched gradient
   * step, for methods whose published optimiser is not one (word2vec's sequential per-pair SGD on
   * sparse rows: batched dense steps either blow up frequent words or starve rare ones). `train()`
   * validates the configs and data, then calls `fit` and returns its history; `prepare`/`loss` still
   * define the objective. Checkpoints and resume do not apply to such tasks.
   */
  fit?(ctx: FitContext<z.output<C>, RawBatch<M>>): Promise<{ history: Array<{ step: number; epoch: number; loss: number; lr: number }> }>;
  /** Number of training examples one raw example yields (e.g. 4 rotations); for throughput. */
  examplesPerInput?(config: z.output<C>): number;
  /**
   * The input the encoder sees for a raw batch, when that is not the raw batch itself: e.g. the
   * lightness channel for colorization, or Lab channels for split-brain. The CLI applies it to every
   * batch it feeds the trained (or random-init) encoder: the probe, kNN, `ssl eval`. Users of an
   * exported encoder must apply it too. Pure and deterministic (no augmentation).
   */
  encoderView?(raw: RawBatch<M>, config: z.output<C>): RawBatch<M>;
  /**
   * Optional: what the task needs its training data to provide, e.g. items of `config.sentences`
   * consecutive sentences for sentence order. The runner passes it to the dataset; default: the
   * dataset's own layout (text: one sentence per item).
   */
  dataNeeds?(config: z.output<C>): DataNeeds;
  /**
   * The encoder's input shape on data whose examples have shape `sampleShape` (a frame, a
   * time step), when the task feeds the encoder something else: e.g. chunks of `config.chunk`
   * steps of a time series. Default: `sampleShape`.
   */
  encoderInputShape?(sampleShape: readonly number[], config: z.output<C>): number[];
  /**
   * Optional: writes method-specific artefacts of the trained encoder into the run directory
   * (word2vec: the word vectors) and returns lines for the log.
   */
  exportArtifacts?(ctx: { config: z.output<C>; encoder: tf.LayersModel; source: DataSource<RawBatch<M>>; runDir: string }): Promise<string[]>;
  /**
   * Optional: the discrete input transformations the task recognises (rotation: 4 quarter turns),
   * for joint (class, transformation) labels (`ssl train --joint-labels --aux NAME`).
   */
  transformations?: ImageTransformSet;
  /** Encoder name (see `@ssl/encoders` ENCODERS) the CLI uses when `--encoder` is not given; default: the dataset's. */
  defaultEncoder?: string;
  /**
   * Optional pictures for the run's report (e.g. inputs, masks and reconstructions), drawn after
   * training from one raw batch; float HWC pixels in [0, 1] with 1, 3 or 4 channels.
   */
  reportImages?(ctx: { config: z.output<C>; encoder: tf.LayersModel; heads: H; raw: RawBatch<M> }): ReportImage[];
}

/** A picture a task adds to the run's report: float HWC pixels in [0, 1]. */
export interface ReportImage {
  caption: string;
  pixels: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** A pretext task value: its spec, frozen, with a brand so registries can tell it apart. */
export type PretextTask<
  N extends string = string,
  C extends z.ZodTypeAny = z.ZodTypeAny,
  M extends Modality = Modality,
  H extends Heads = Heads,
  S = undefined,
  B extends PretextBatch = PretextBatch,
> = Readonly<PretextTaskSpec<N, C, M, H, S, B>> & { readonly kind: 'pretext-task' };

/** Any pretext task, whatever its config, heads, state and prepared batch. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPretextTask = PretextTask<string, z.ZodTypeAny, Modality, any, any, any>;

/** The parsed config type of a task. */
export type TaskConfig<T extends AnyPretextTask> = z.output<T['config']>;
/** What users may pass as a task's config (fields optional where they have defaults). */
export type TaskConfigInput<T extends AnyPretextTask> = z.input<T['config']>;
