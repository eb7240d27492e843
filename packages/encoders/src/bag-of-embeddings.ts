import * as tf from '@tensorflow/tfjs';
import { SslError } from '@ssl/core';

/** Constructor arguments of {@link BagOfEmbeddings}. */
export interface BagOfEmbeddingsArgs {
  /** Number of token ids (the tokenizer's vocabulary size, special tokens included). */
  vocabSize: number;
  /** Embedding size (the encoder's feature size). */
  dim: number;
  /** Ids below this are ignored by the mean (default 2: [PAD]=0 and [UNK]=1). */
  minId?: number;
  seed?: number;
  name?: string;
  inputShape?: Array<number | null>;
  batchInputShape?: Array<number | null>;
}

/**
 * Embedding lookup + mean pooling: token ids [n, L] → mean of the embeddings of the ids ≥ `minId`
 * → [n, dim] (zeros for a row with none). Initialised as word2vec's input vectors,
 * uniform in ±0.5/dim. Registered for the layers format (saves and reloads with tf.loadLayersModel).
 *
 * @example
 * const layer = new BagOfEmbeddings({ vocabSize: 1000, dim: 100 });
 */
export class BagOfEmbeddings extends tf.layers.Layer {
  static className = 'SslBagOfEmbeddings';
  readonly vocabSize: number;
  readonly dim: number;
  readonly minId: number;
  private readonly seed: number | undefined;
  private table?: tf.LayerVariable;

  constructor(args: BagOfEmbeddingsArgs) {
    super(args as ConstructorParameters<typeof tf.layers.Layer>[0]);
    if (!Number.isInteger(args.vocabSize) || args.vocabSize < 2) {
      throw new SslError(`bag-of-embeddings needs vocabSize >= 2 (the tokenizer's size), got ${args.vocabSize}. Use it with a text dataset, which sets it.`);
    }
    this.vocabSize = args.vocabSize;
    this.dim = args.dim;
    this.minId = args.minId ?? 2;
    this.seed = args.seed;
  }

  override build(): void {
    const half = 0.5 / this.dim;
    this.table = this.addWeight(
      'embeddings',
      [this.vocabSize, this.dim],
      'float32',
      tf.initializers.randomUniform({ minval: -half, maxval: half, ...(this.seed === undefined ? {} : { seed: this.seed }) }),
    );
    this.built = true;
  }

  /** The embedding table variable, `[vocabSize, dim]` (word2vec's input vectors). */
  get embeddings(): tf.LayerVariable {
    if (!this.table) throw new SslError(`bag-of-embeddings layer "${this.name}" is not built yet; apply the model once first`);
    return this.table;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
    return tf.tidy(() => {
      const ids = x.dtype === 'int32' ? x : tf.cast(x, 'int32');
      const mask = tf.cast(tf.greaterEqual(ids, this.minId), 'float32'); // [n, L]
      const vecs = tf.gather(this.table!.read(), ids); // [n, L, dim]
      const sum = tf.sum(tf.mul(vecs, tf.expandDims(mask, 2)), 1);
      return tf.div(sum, tf.expandDims(tf.maximum(tf.sum(mask, 1), 1), 1));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), vocabSize: this.vocabSize, dim: this.dim, minId: this.minId, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(BagOfEmbeddings);

/**
 * The bag-of-embeddings text encoder: token ids [n, L] (any L) → mean word vector [n, dim].
 * word2vec trains its table; any text task can use it as a cheap baseline encoder.
 *
 * @example
 * const enc = createBagOfEmbeddings({ vocabSize: tokenizer.size, dim: 100, seed: 0 });
 * enc.predict(tf.tensor2d([[7, 9, 0]], [1, 3], 'int32')); // [1, 100]
 */
export function createBagOfEmbeddings(opts: { vocabSize: number; dim: number; minId?: number; seed?: number }): tf.LayersModel {
  const input = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const layer = new BagOfEmbeddings({
    vocabSize: opts.vocabSize,
    dim: opts.dim,
    ...(opts.minId === undefined ? {} : { minId: opts.minId }),
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    name: 'bag_of_embeddings',
  });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor, name: 'bag_of_embeddings_encoder' });
}

/**
 * The token embedding table `[vocabSize, dim]` of a text encoder (a {@link BagOfEmbeddings} layer
 * or a tf.layers.embedding), for heads sized by or tied to it and for exporting word vectors.
 *
 * @example
 * const table = embeddingTableOf(encoder); // table.shape → [vocabSize, dim]
 */
export function embeddingTableOf(encoder: tf.LayersModel): tf.LayerVariable {
  for (const layer of encoder.layers) {
    if (layer instanceof BagOfEmbeddings) return layer.embeddings;
    if (layer.getClassName() === 'Embedding' && layer.weights[0]) return layer.weights[0];
  }
  throw new SslError(`encoder "${encoder.name}" has no token embedding table; use a text encoder, e.g. --encoder bag-of-embeddings`);
}
