import type { Rng } from './rng';

/** The kinds of raw data a pretext task consumes. */
export type Modality = 'image' | 'sequence' | 'text' | 'graph' | 'multiview';

/** The method families of the catalogue, plus `supervised` for downstream tasks (fine-tuning, auxiliary training). */
export type Family = 'context' | 'temporal' | 'contrastive' | 'supervised';

/**
 * A batch of images as plain arrays, NHWC, values in [0, 1].
 * Pretext tasks build their inputs from it (rotations, crops, patches...) before any tensor exists.
 */
export interface ImageBatch {
  readonly modality: 'image';
  /** `n * height * width * channels` floats, NHWC order. */
  readonly images: Float32Array;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Class labels when the source has them (never used by pretext losses). */
  readonly labels?: Int32Array;
  /** The dataset indices the batch was drawn from. */
  readonly indices: Int32Array;
}

/**
 * A batch of sequences as plain arrays: `n` sequences of `length` frames, each frame of shape
 * `frameShape` ([height, width, channels] for video, [features] for a time series), row-major.
 */
export interface SequenceBatch {
  readonly modality: 'sequence';
  /** `n * length * prod(frameShape)` floats. */
  readonly frames: Float32Array;
  readonly n: number;
  readonly length: number;
  readonly frameShape: readonly number[];
  /** Per-frame labels (`n * length`) when the source has them, for evaluation only. */
  readonly frameLabels?: Int32Array;
  /** Per-sequence labels when the source has them, for evaluation only. */
  readonly labels?: Int32Array;
  /** The dataset indices the batch was drawn from. */
  readonly indices: Int32Array;
}

/**
 * A batch of token-id sequences (padded with id 0 to `length`), for text pretext tasks.
 *
 * @example
 * const b: TextBatch = { modality: 'text', tokens: Int32Array.of(2, 7, 3, 0), n: 1, length: 4, indices: Int32Array.of(0) };
 */
export interface TextBatch {
  readonly modality: 'text';
  /** `n * length` token ids, row-major, 0 = padding. */
  readonly tokens: Int32Array;
  readonly n: number;
  readonly length: number;
  /** Document labels when the source has them (evaluation only). */
  readonly labels?: Int32Array;
  /** The dataset indices the batch was drawn from. */
  readonly indices: Int32Array;
  /**
   * `n * length`: for each token, the index (0, 1, 2, …) of the sentence it belongs to inside its
   * item; -1 on padding. Set by sources whose items are windows of consecutive sentences.
   */
  readonly sentence?: Int32Array;
  /**
   * `n * otherLength` token ids: for each item, one random sentence (drawn with the batch's rng)
   * from a DIFFERENT document, 0-padded. Negatives for next-sentence / sentence-order tasks.
   */
  readonly other?: Int32Array;
  /** Row length of {@link TextBatch.other}. */
  readonly otherLength?: number;
  /**
   * Training-corpus count of every token id (the vocabulary's frequencies, the same array in every
   * batch), for frequency-based sampling: word2vec's subsampling and unigram noise.
   */
  readonly vocabCounts?: Int32Array;
  /**
   * Set when rows are chunks of longer items (e.g. a document cut into 128-token rows): `owner[r]`
   * is the item of row r and `weight[r]` its weight; frozen features are the weighted mean per item,
   * and `labels` has one entry per item (`items` of them).
   */
  readonly chunks?: { readonly items: number; readonly owner: Int32Array; readonly weight: Float32Array };
}

/**
 * What a task needs its training data to provide beyond the modality. The task declares it
 * (`PretextTaskSpec.dataNeeds`), the runner hands it to the dataset (`DatasetContext.needs` in
 * @ssl/data), so the data layout follows the method instead of a constant in the data package.
 *
 * @example
 * const needs: DataNeeds = { sentencesPerItem: 3 }; // windows of 3 consecutive sentences
 */
export interface DataNeeds {
  /** Text: consecutive sentences of one document per item (datasets default to 1). */
  sentencesPerItem?: number;
}

/**
 * What a dataset tells an encoder beyond the input shape: a vocabulary's size, a graph's nodes and
 * edges. Encoders that need one of them read it; others ignore them.
 *
 * @example
 * const inputs: EncoderInputs = { inputShape: [128], vocabSize: 8000 };
 */
export interface EncoderInputs {
  /** Shape of one encoder input, e.g. [28, 28, 1] or [128] token ids. */
  inputShape: number[];
  /** Number of token ids (text datasets). */
  vocabSize?: number;
  /** The graph whose nodes are encoded (graph datasets): undirected edges as flat pairs. */
  graph?: { numNodes: number; edges: Int32Array };
}

/**
 * A discrete set of image transformations (e.g. the four quarter turns): `apply` returns every
 * image under every transformation, image i's t-th copy at row `count·i + t`, labelled t.
 *
 * @example
 * const quarterTurns: ImageTransformSet = { count: 4, apply: rotationBatch };
 */
export interface ImageTransformSet {
  count: number;
  apply(images: Float32Array, n: number, height: number, width: number, channels: number): { images: Float32Array; labels: Int32Array };
}

/** Raw batches by modality; other families add their own batch types here. */
export interface BatchByModality {
  image: ImageBatch;
  sequence: SequenceBatch;
  text: TextBatch;
}

/**
 * Anything the trainer can draw batches from: a fixed-size indexable collection.
 * `batch` must be a pure function of `indices` (randomness, if any, comes from `rng`).
 */
export interface DataSource<B = ImageBatch> {
  readonly modality: Modality;
  readonly size: number;
  batch(indices: Int32Array, rng: Rng): B;
}
