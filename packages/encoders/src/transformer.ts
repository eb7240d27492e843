import * as tf from '@tensorflow/tfjs';
import { matMulPlainGrads } from './ops';
import { Rng, SslError, showValue } from '@ssl/core';

type Sym = tf.SymbolicTensor;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** Name of the transformer's per-token output layer (the final layer norm), [n, length, dim]. */
export const TRANSFORMER_SEQUENCE_LAYER = 'sequence_output';
/** Name of the transformer's token + position embedding layer (holds the tied output embedding). */
export const TRANSFORMER_EMBEDDING_LAYER = 'token_embedding';

// One-tensor input of a layer that may receive a list.
const first = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);
const shapeOf = (s: tf.Shape | tf.Shape[], i = 0): tf.Shape => (Array.isArray(s[0]) ? (s as tf.Shape[])[i]! : (s as tf.Shape));

/** 1 on real tokens, 0 on padding (id 0), as float32 [n, length]. */
function keepMask(ids: tf.Tensor): tf.Tensor2D {
  return tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
}

/**
 * table[ids] with the gradient scattered row by row on plain arrays: the gradient of tf.gather is
 * a one-hot matrix product on wasm ([tokens × vocab]), far too slow for a vocabulary.
 */
function lookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const idList = ids.dataSync() as Int32Array;
  const [vocab, dim] = table.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const t = args[0] as tf.Tensor2D;
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const g = (dy as tf.Tensor).dataSync() as Float32Array;
        const out = new Float32Array(vocab * dim);
        for (let i = 0; i < idList.length; i++) {
          const row = idList[i]! * dim;
          const src = i * dim;
          for (let k = 0; k < dim; k++) out[row + k]! += g[src + k]!;
        }
        return tf.tensor2d(out, [vocab, dim]);
      },
    };
  });
  return op(table) as tf.Tensor;
}

interface EmbeddingArgs {
  vocabSize: number;
  dim: number;
  maxLength: number;
  seed?: number;
}

/**
 * Learned token embedding plus learned absolute position embedding: ids [n, length] → [n, length, dim].
 * Ids arrive as float or int; 0 is padding (it gets an embedding too; attention and pooling mask it).
 *
 * @example
 * const emb = new TokenPositionEmbedding({ vocabSize: 100, dim: 16, maxLength: 32 });
 */
export class TokenPositionEmbedding extends tf.layers.Layer {
  static className = 'SslTokenPositionEmbedding';
  readonly vocabSize: number;
  readonly dim: number;
  readonly maxLength: number;
  private readonly seed: number | undefined;
  private tokens?: tf.LayerVariable;
  private positions?: tf.LayerVariable;

  constructor(args: EmbeddingArgs & LayerArgs) {
    super(args);
    this.vocabSize = args.vocabSize;
    this.dim = args.dim;
    this.maxLength = args.maxLength;
    this.seed = args.seed;
  }

  override build(): void {
    const rng = new Rng(this.seed ?? 0);
    // BERT's initialiser: N(0, 0.02²).
    const init = () => tf.initializers.truncatedNormal({ stddev: 0.02, seed: rng.seed() });
    this.tokens = this.addWeight('tokens', [this.vocabSize, this.dim], 'float32', init());
    this.positions = this.addWeight('positions', [this.maxLength, this.dim], 'float32', init());
    this.built = true;
  }

  /** The token embedding matrix [vocabSize, dim] (read it inside a gradient tape to train through it). */
  tokenTable(): tf.Tensor2D {
    if (!this.tokens) throw new SslError(`Embedding layer "${this.name}" is not built yet; apply the model once first.`);
    return this.tokens.read() as tf.Tensor2D;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...shapeOf(inputShape), this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = tf.cast(first(inputs), 'int32');
      const length = ids.shape[1]!;
      if (length > this.maxLength)
        throw new SslError(`Transformer got sequences of ${length} tokens; it was built for at most ${this.maxLength}. Build it with a larger maxLength.`);
      const tok = lookup(this.tokens!.read() as tf.Tensor2D, ids);
      return tf.add(tok, tf.slice(this.positions!.read(), [0, 0], [length, this.dim]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      vocabSize: this.vocabSize,
      dim: this.dim,
      maxLength: this.maxLength,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(TokenPositionEmbedding);

/**
 * Layer normalisation over the last axis, y = (x − mean) / sqrt(var + ε) · γ + β, written with
 * plain ops on a [rows, d] view: tfjs' layerNormalization takes seconds per backward pass on wasm.
 *
 * @example
 * const y = new LayerNorm({ name: 'ln' }).apply(x); // x [n, L, d] → [n, L, d]
 */
export class LayerNorm extends tf.layers.Layer {
  static className = 'SslLayerNorm';
  readonly epsilon: number;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;

  constructor(args: { epsilon?: number } & LayerArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = shapeOf(inputShape).at(-1)!;
    this.gamma = this.addWeight('gamma', [d], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const d = x.shape.at(-1)!;
      const x2 = tf.reshape(x, [-1, d]);
      const centred = tf.sub(x2, tf.mean(x2, 1, true));
      const inv = tf.rsqrt(tf.add(tf.mean(tf.square(centred), 1, true), this.epsilon));
      return tf.reshape(tf.add(tf.mul(tf.mul(centred, inv), this.gamma!.read()), this.beta!.read()), x.shape);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(LayerNorm);

interface AttentionArgs {
  heads: number;
  seed?: number;
}

/**
 * Multi-head scaled dot-product self-attention with a key padding mask. Inputs: [x [n, L, d],
 * ids [n, L]]; keys whose id is 0 get no attention weight. Output [n, L, d]. Given x alone (image
 * tokens, no padding), every key is attended to.
 *
 * @example
 * const att = new MultiHeadSelfAttention({ heads: 4 });
 * const y = att.apply([x, ids]); // x [n, L, 64], ids [n, L]
 */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  static className = 'SslMultiHeadSelfAttention';
  readonly heads: number;
  private readonly seed: number | undefined;
  private qkv?: tf.LayerVariable;
  private qkvBias?: tf.LayerVariable;
  private out?: tf.LayerVariable;
  private outBias?: tf.LayerVariable;

  constructor(args: AttentionArgs & LayerArgs) {
    super(args);
    this.heads = args.heads;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = shapeOf(inputShape).at(-1)!;
    if (d % this.heads !== 0)
      throw new SslError(`Attention width ${d} is not divisible by ${this.heads} heads. Pick dim a multiple of heads (e.g. dim 64, heads 4).`);
    const rng = new Rng(this.seed ?? 0);
    this.qkv = this.addWeight('qkv_kernel', [d, 3 * d], 'float32', tf.initializers.glorotUniform({ seed: rng.seed() }));
    this.qkvBias = this.addWeight('qkv_bias', [3 * d], 'float32', tf.initializers.zeros());
    this.out = this.addWeight('out_kernel', [d, d], 'float32', tf.initializers.glorotUniform({ seed: rng.seed() }));
    this.outBias = this.addWeight('out_bias', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      // Without ids (image tokens) every key is attended to.
      const [x, ids] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor3D, tf.Tensor2D | undefined];
      const [n, len, d] = x.shape;
      const h = this.heads;
      const dh = d / h;
      const flat = tf.reshape(x, [n * len, d]) as tf.Tensor2D;
      const proj = tf.add(matMulPlainGrads(flat, this.qkv!.read() as tf.Tensor2D), this.qkvBias!.read());
      const [q, k, v] = tf.split(proj, 3, 1).map((t) => tf.transpose(tf.reshape(t, [n, len, h, dh]), [0, 2, 1, 3])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)); // [n, h, L, L]
      const attn = tf.softmax(ids ? tf.add(scores, tf.reshape(tf.mul(tf.sub(1, keepMask(ids)), -1e9), [n, 1, 1, len])) : scores);
      const ctx = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [n * len, d]) as tf.Tensor2D;
      return tf.reshape(tf.add(matMulPlainGrads(ctx, this.out!.read() as tf.Tensor2D), this.outBias!.read()), [n, len, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(MultiHeadSelfAttention);

/**
 * A position-wise dense layer on [..., d_in] → [..., units] (optionally GELU), computed on a 2-D
 * view with {@link matMulPlainGrads}; tfjs' Dense on 3-D inputs trains several times slower on wasm.
 *
 * @example
 * const y = new TokenDense({ units: 256, gelu: true }).apply(h); // [n, L, 64] → [n, L, 256]
 */
export class TokenDense extends tf.layers.Layer {
  static className = 'SslTokenDense';
  readonly units: number;
  readonly gelu: boolean;
  private readonly seed: number | undefined;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: { units: number; gelu?: boolean; seed?: number } & LayerArgs) {
    super(args);
    this.units = args.units;
    this.gelu = args.gelu ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = shapeOf(inputShape).at(-1)!;
    this.kernel = this.addWeight('kernel', [d, this.units], 'float32', tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed }));
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...shapeOf(inputShape).slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const d = x.shape.at(-1)!;
      const y = tf.add(matMulPlainGrads(tf.reshape(x, [-1, d]), this.kernel!.read() as tf.Tensor2D), this.bias!.read());
      return tf.reshape(this.gelu ? geluTanh(y) : y, [...x.shape.slice(0, -1), this.units]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, gelu: this.gelu, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(TokenDense);

/** GELU, tanh approximation (as in BERT's code): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/**
 * Pools a token sequence into one vector: `mean` over non-padding tokens, or the first token
 * (`cls`, the [CLS] position). Inputs: [h [n, L, d], ids [n, L]]; output [n, d].
 *
 * @example
 * const pooled = new SequencePooling({ mode: 'mean' }).apply([h, ids]);
 */
export class SequencePooling extends tf.layers.Layer {
  static className = 'SslSequencePooling';
  readonly mode: 'mean' | 'cls';

  constructor(args: { mode: 'mean' | 'cls' } & LayerArgs) {
    super(args);
    if (args.mode !== 'mean' && args.mode !== 'cls') throw new SslError(`Invalid pooling ${showValue(args.mode)}. Must be "mean" or "cls".`);
    this.mode = args.mode;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = shapeOf(inputShape);
    return [s[0]!, s[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [h, ids] = inputs as [tf.Tensor3D, tf.Tensor2D];
      const [n, len, d] = h.shape;
      if (this.mode === 'cls') return tf.reshape(tf.slice(h, [0, 0, 0], [n, 1, d]), [n, d]);
      const m = keepMask(ids);
      const sum = tf.squeeze(tf.matMul(tf.reshape(m, [n, 1, len]), h), [1]);
      return tf.div(sum, tf.maximum(tf.sum(m, 1, true), 1));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
tf.serialization.registerClass(SequencePooling);

/**
 * Options of {@link createTransformer}.
 *
 * @example
 * const opts: TransformerOptions = { vocabSize: 8000, maxLength: 64, dim: 64, layers: 2, heads: 4, seed: 0 };
 */
export interface TransformerOptions {
  /** Token ids are in [0, vocabSize); id 0 is padding. */
  vocabSize: number;
  /** Longest input sequence (the model's input length). */
  maxLength: number;
  /** Model width; default 64. */
  dim?: number;
  /** Number of pre-LN blocks; default 2. */
  layers?: number;
  /** Attention heads; default 4 (must divide `dim`). */
  heads?: number;
  /** Hidden width of each block's MLP as a multiple of `dim`; default 4. */
  mlpRatio?: number;
  /** Feature vector of the encoder: mean of the non-padding tokens, or the [CLS] (first) token; default mean. */
  pooling?: 'mean' | 'cls';
  /**
   * Which hidden states are pooled: `last` (the final layer norm; features [n, dim]) or `all`, the
   * concatenation of the token embedding's output, each block's output but the last, and the final
   * layer norm of the last block's output (features [n, dim · (layers + 1)]; BERT's feature-based use of concatenated layers,
   * Devlin et al. 2019 §5.3); default last.
   */
  hiddenStates?: 'last' | 'all';
  /** Fixes every initial weight. */
  seed: number;
}

/**
 * Options of {@link transformerBlock}.
 *
 * @example
 * const opts: TransformerBlockOptions = { index: 0, heads: 4, mlpRatio: 4, rng: new Rng(0) };
 */
export interface TransformerBlockOptions {
  /** Block number; its layers are named `${prefix}block${index}_…`. */
  index: number;
  /** Attention heads (must divide the token width). */
  heads: number;
  /** MLP hidden width as a multiple of the token width. */
  mlpRatio: number;
  /** Draws the initialiser seeds (attention, then the two MLP layers). */
  rng: Rng;
  /** Prefix of the layer names (e.g. `decoder_`); default none. */
  prefix?: string;
}

/**
 * Applies one new pre-LN transformer block to symbolic tokens h [n, L, d]: `x + MHSA(LN(x))`, then
 * `x + MLP(LN(x))` (GELU). With `ids` [n, L], padding keys (id 0) are masked; without, all tokens attend.
 * The text transformer and the ViT both build their blocks with it.
 *
 * @example
 * const h2 = transformerBlock(h, undefined, { index: 0, heads: 4, mlpRatio: 4, rng }); // [n, L, 64] → [n, L, 64]
 */
export function transformerBlock(h: Sym, ids: Sym | undefined, { index: i, heads, mlpRatio, rng, prefix = '' }: TransformerBlockOptions): Sym {
  const ap = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
  const dim = h.shape.at(-1);
  if (typeof dim !== 'number') throw new SslError(`transformerBlock needs tokens with a known width (last axis); got shape ${showValue(h.shape)}.`);
  const p = `${prefix}block${i}`;
  const normed = ap(new LayerNorm({ name: `${p}_ln1` }), h);
  const a = ap(new MultiHeadSelfAttention({ heads, seed: rng.seed(), name: `${p}_attention` }), ids ? [normed, ids] : normed);
  h = ap(tf.layers.add({ name: `${p}_res1` }), [h, a]);
  const m1 = ap(new TokenDense({ units: mlpRatio * dim, gelu: true, seed: rng.seed(), name: `${p}_mlp1` }), ap(new LayerNorm({ name: `${p}_ln2` }), h));
  const m2 = ap(new TokenDense({ units: dim, seed: rng.seed(), name: `${p}_mlp2` }), m1);
  return ap(tf.layers.add({ name: `${p}_res2` }), [h, m2]);
}

function checkPositiveInt(name: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1) throw new SslError(`Invalid transformer ${name}: ${showValue(v)}. Must be a positive integer.`);
}

/**
 * A small pre-LN transformer encoder (Vaswani et al. 2017 with the pre-norm blocks of
 * Xiong et al. 2020): token + position embeddings, `layers` blocks of
 * `x + MHSA(LN(x))`, `x + MLP(LN(x))` (GELU), a final layer norm named
 * {@link TRANSFORMER_SEQUENCE_LAYER} ([n, L, dim], per-token features), then pooling to [n, dim].
 * Input: token ids [n, maxLength] (0 = padding, masked out of attention and mean pooling).
 * The model's single output is the pooled vector, so probes and the shared trainer use it as
 * any encoder; token-level tasks (masked LM) read the per-token output with
 * {@link transformerSequenceModel} and the tied embedding with {@link transformerTokenEmbeddings}.
 * With `hiddenStates: 'all'` the features concatenate the pooled embedding output, every block's
 * output and the final layer norm ([n, dim · (layers + 1)]); heads on token features use
 * {@link transformerWidth}, not the feature size.
 *
 * @example
 * const enc = createTransformer({ vocabSize: 1000, maxLength: 64, seed: 0 }); // [n, 64] ids → [n, 64]
 */
export function createTransformer(options: TransformerOptions): tf.LayersModel {
  const { vocabSize, maxLength, dim = 64, layers = 2, heads = 4, mlpRatio = 4, pooling = 'mean', hiddenStates = 'last', seed } = options;
  if (hiddenStates !== 'last' && hiddenStates !== 'all')
    throw new SslError(`Invalid transformer hiddenStates ${showValue(hiddenStates)}. Must be "last" or "all".`);
  checkPositiveInt('vocabSize', vocabSize);
  checkPositiveInt('maxLength', maxLength);
  checkPositiveInt('dim', dim);
  checkPositiveInt('layers', layers);
  checkPositiveInt('heads', heads);
  checkPositiveInt('mlpRatio', mlpRatio);
  if (!Number.isInteger(seed)) throw new SslError(`Invalid transformer seed: ${showValue(seed)}. Must be an integer.`);
  if (vocabSize < 2) throw new SslError(`Invalid transformer vocabSize: ${vocabSize}. Needs at least 2 ids (0 is padding).`);
  if (dim % heads !== 0) throw new SslError(`Invalid transformer dim ${dim} for ${heads} heads: dim must be a multiple of heads (e.g. dim 64, heads 4).`);
  const rng = Rng.derive(seed, 'encoder-init');
  const ids = tf.input({ shape: [maxLength], name: 'tokens' });
  const ap = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
  let h = ap(new TokenPositionEmbedding({ vocabSize, dim, maxLength, seed: rng.seed(), name: TRANSFORMER_EMBEDDING_LAYER }), ids);
  const states: Sym[] = [h];
  for (let i = 0; i < layers; i++) {
    h = transformerBlock(h, ids, { index: i, heads, mlpRatio, rng });
    if (i < layers - 1) states.push(h);
  }
  h = ap(new LayerNorm({ name: TRANSFORMER_SEQUENCE_LAYER }), h);
  states.push(h);
  const pooled =
    hiddenStates === 'last'
      ? ap(new SequencePooling({ mode: pooling, name: `${pooling}_pool` }), [h, ids])
      : ap(
          tf.layers.concatenate({ name: 'hidden_states_concat' }),
          states.map((st, i) => ap(new SequencePooling({ mode: pooling, name: `${pooling}_pool_${i}` }), [st, ids])),
        );
  return tf.model({ inputs: ids, outputs: pooled, name: 'transformer' });
}

/**
 * Drops the all-padding columns at the right end of a batch of 0-padded id rows: [n, length] →
 * [n, used], `used` the longest row (at least 1). The transformer gives exactly the same outputs
 * for the kept positions (padding is masked out of attention and pooling, positions are absolute),
 * at a fraction of the cost when rows are short.
 *
 * @example
 * trimPadding(Int32Array.of(5, 6, 0, 0, 7, 0, 0, 0), 2, 4); // { ids: [5, 6, 7, 0], used: 2 }
 */
export function trimPadding(ids: Int32Array, n: number, length: number): { ids: Int32Array; used: number } {
  let used = 1;
  for (let r = 0; r < n; r++) {
    for (let j = length - 1; j >= used; j--) {
      if (ids[r * length + j] !== 0) {
        used = j + 1;
        break;
      }
    }
  }
  if (used === length) return { ids, used };
  const out = new Int32Array(n * used);
  for (let r = 0; r < n; r++) out.set(ids.subarray(r * length, r * length + used), r * used);
  return { ids: out, used };
}

const sequenceModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

function transformerLayer(encoder: tf.LayersModel, name: string): tf.layers.Layer {
  const layer = encoder.layers.find((l) => l.name === name);
  if (!layer) {
    throw new SslError(
      `This method needs a transformer encoder (layer "${name}"), but encoder "${encoder.name}" has none. Use --encoder transformer with a text dataset.`,
    );
  }
  return layer;
}

/**
 * The per-token view of a transformer encoder: a model sharing all its weights that maps ids
 * [n, L] to the final layer norm's output [n, L, dim] (before pooling). Cached per encoder.
 * Applying it inside a gradient tape trains the encoder's own weights.
 *
 * @example
 * const seq = transformerSequenceModel(encoder);
 * const h = seq.apply(ids, { training: true }) as tf.Tensor3D; // [n, L, 64]
 */
export function transformerSequenceModel(encoder: tf.LayersModel): tf.LayersModel {
  let m = sequenceModels.get(encoder);
  if (!m) {
    const layer = transformerLayer(encoder, TRANSFORMER_SEQUENCE_LAYER);
    m = tf.model({ inputs: encoder.inputs, outputs: layer.output as Sym, name: `${encoder.name}_sequence` });
    sequenceModels.set(encoder, m);
  }
  return m;
}

/**
 * The transformer's token embedding matrix [vocabSize, dim], read from its variable so a tied
 * output layer (logits = h · Eᵀ) trains it when called inside a gradient tape.
 *
 * @example
 * const logits = tf.matMul(hidden, transformerTokenEmbeddings(encoder), false, true); // [m, vocab]
 */
export function transformerTokenEmbeddings(encoder: tf.LayersModel): tf.Tensor2D {
  const layer = transformerLayer(encoder, TRANSFORMER_EMBEDDING_LAYER);
  if (!(layer instanceof TokenPositionEmbedding)) {
    throw new SslError(
      `Layer "${TRANSFORMER_EMBEDDING_LAYER}" of encoder "${encoder.name}" is a ${layer.getClassName()}, not a token embedding. Use --encoder transformer.`,
    );
  }
  return layer.tokenTable();
}

/**
 * The width (model dimension) of a transformer encoder's per-token features, which differs from its
 * pooled feature size when it concatenates hidden states.
 *
 * @example
 * transformerWidth(createTransformer({ vocabSize: 100, maxLength: 8, dim: 16, heads: 2, hiddenStates: 'all', seed: 0 })); // 16
 */
export function transformerWidth(encoder: tf.LayersModel): number {
  return transformerTokenEmbeddings(encoder).shape[1];
}
