// Masked-language-model building blocks (BERT's masking, head and loss term), shared by the
// masked-lm task and the text tasks that add an MLM term (next-sentence, sentence order).
import * as tf from '@tensorflow/tfjs';
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID, SslError, parseWith, type Rng } from '@ssl/core';
import { matMulPlainGrads } from './ops';
import { LayerNorm, TokenDense, transformerTokenEmbeddings, trimPadding } from './transformer';
import { z } from 'zod';

/** BERT's masking rates, as zod fields (other text tasks spread them into their configs). */
export const maskingFields = {
  maskRate: z.number().gt(0).lt(1).default(0.15).describe('share of the (non-special) tokens selected for prediction (BERT: 15%)'),
  maskTokenProb: z.number().min(0).max(1).default(0.8).describe('share of the selected tokens replaced by [MASK] (BERT: 80%)'),
  randomTokenProb: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('share of the selected tokens replaced by a random token (BERT: 10%; maskTokenProb + randomTokenProb ≤ 1); the rest stay unchanged'),
};

/** BERT's masking rates: which share of tokens is predicted, and how the selected ones are corrupted. */
export const maskingConfig = z.object(maskingFields).strict();

/** Parsed masking rates. */
export type MaskingConfig = z.output<typeof maskingConfig>;

/**
 * The model input and prediction targets of masked language modelling.
 *
 * @example
 * const { inputs, positions, targets } = maskTokens(tokens, 2, 8, new Rng(0));
 */
export interface MaskedTokens {
  /** The corrupted ids, same layout as the input (`n * length`). */
  inputs: Int32Array;
  /** Flat indices `row * length + column` of the selected tokens, ascending. */
  positions: Int32Array;
  /** The original ids at `positions`. */
  targets: Int32Array;
}

/**
 * Whether a token may be selected for prediction: not padding, [CLS], [SEP] or [MASK].
 *
 * @example
 * isMaskable(CLS_ID); // false
 */
export function isMaskable(id: number): boolean {
  return id !== PAD_ID && id !== CLS_ID && id !== SEP_ID && id !== MASK_ID;
}

/**
 * BERT's masking (Devlin et al. 2019): each non-special token is selected with probability
 * `maskRate` (15%); a selected token becomes [MASK] with probability 0.8, a random token with
 * probability 0.1 (drawn from the batch's own non-special tokens, i.e. the corpus' unigram
 * distribution, so no vocabulary size is needed), and stays unchanged otherwise. The originals
 * of the selected tokens are the targets. If nothing is selected in the whole batch, one
 * maskable token is selected so the loss is defined.
 *
 * @example
 * const m = maskTokens(Int32Array.of(7, 8, 9, 0), 1, 4, new Rng(1));
 * m.inputs;    // e.g. [7, 4, 9, 0] (4 = [MASK])
 * m.positions; // e.g. [1]; m.targets: [8]
 */
export function maskTokens(tokens: Int32Array, n: number, length: number, rng: Rng, rates: Partial<MaskingConfig> = {}): MaskedTokens {
  // Only the rate fields: callers may pass a larger task config that contains them.
  const { maskRate, maskTokenProb, randomTokenProb } = parseWith(
    maskingConfig,
    { maskRate: rates.maskRate, maskTokenProb: rates.maskTokenProb, randomTokenProb: rates.randomTokenProb },
    'masking rates',
  );
  if (maskTokenProb + randomTokenProb > 1) {
    throw new SslError(
      `Invalid masking rates: maskTokenProb ${maskTokenProb} + randomTokenProb ${randomTokenProb} > 1. Their sum must be at most 1 (BERT: 0.8 + 0.1).`,
    );
  }
  if (tokens.length !== n * length) throw new SslError(`maskTokens got ${tokens.length} ids for ${n} rows of ${length}; tokens must hold n * length ids.`);
  const candidates: number[] = [];
  for (let i = 0; i < tokens.length; i++) if (isMaskable(tokens[i]!)) candidates.push(i);
  if (candidates.length === 0)
    throw new SslError('Masked language modelling got a batch without any word token (only padding and special tokens). Check the text data source.');
  const positions: number[] = [];
  for (const i of candidates) if (rng.float() < maskRate) positions.push(i);
  if (positions.length === 0) positions.push(rng.pick(candidates));
  const inputs = Int32Array.from(tokens);
  for (const i of positions) {
    const u = rng.float();
    if (u < maskTokenProb) inputs[i] = MASK_ID;
    else if (u < maskTokenProb + randomTokenProb) inputs[i] = tokens[rng.pick(candidates)]!;
  }
  return { inputs, positions: Int32Array.from(positions), targets: Int32Array.from(positions, (i) => tokens[i]!) };
}

/**
 * Masked-LM cross-entropy: the mean over the selected positions only of −log softmax(project(h))[target].
 * `hidden` is the per-token output flattened to [n·length, d]; `project` maps the gathered rows to
 * vocabulary logits (identity when `hidden` already holds logits). Rows not in `positions` never
 * enter the loss.
 *
 * @example
 * const loss = maskedLmLoss(tf.tensor2d([[0, 0], [2, 0]]), tf.tensor1d([1], 'int32'), tf.tensor1d([0], 'int32'));
 * // −log(e² / (e² + 1)) ≈ 0.1269
 */
export function maskedLmLoss(
  hidden: tf.Tensor2D,
  positions: tf.Tensor1D,
  targets: tf.Tensor1D,
  project: (h: tf.Tensor2D) => tf.Tensor2D = (h) => h,
): tf.Scalar {
  return tf.tidy(() => {
    const logits = project(tf.gather(hidden, positions) as tf.Tensor2D);
    // logSoftmax, not logSumExp: the latter's gradient goes through a broadcast Equal that is very slow on wasm.
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[1]!)), 1))) as tf.Scalar;
  });
}

/**
 * BERT's masked-LM head transform: Dense(d, GELU) + LayerNorm on [m, d] token features. The output
 * layer is tied to the transformer's token embedding (logits = head(h) · Eᵀ + b), see {@link maskedLmTerm}.
 *
 * @example
 * const head = maskedLmHead(64, 7);
 */
export function maskedLmHead(dim: number, seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [new TokenDense({ inputShape: [dim], units: dim, gelu: true, seed }), new LayerNorm({})],
  });
}

/**
 * Adds a learned bias vector (zeros at init) to its input's last axis: [m, units] → [m, units].
 *
 * @example
 * const y = new VocabBias({ units: 100 }).apply(logits); // logits [m, 100]
 */
export class VocabBias extends tf.layers.Layer {
  static className = 'SslVocabBias';
  readonly units: number;
  private bias?: tf.LayerVariable;

  constructor(args: { units: number } & ConstructorParameters<typeof tf.layers.Layer>[0]) {
    super(args);
    this.units = args.units;
  }

  override build(): void {
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(Array.isArray(inputs) ? inputs[0]! : inputs, this.bias!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
tf.serialization.registerClass(VocabBias);

/**
 * BERT's output-only bias of the masked-LM softmax, one learned value per vocabulary id (zeros at
 * init): with it the tied embedding need not also encode how frequent each word is.
 *
 * @example
 * const bias = maskedLmOutputBias(encoder); // LayersModel [m, vocab] → [m, vocab]
 */
export function maskedLmOutputBias(encoder: tf.LayersModel): tf.LayersModel {
  const vocab = transformerTokenEmbeddings(encoder).shape[0];
  return tf.sequential({ layers: [new VocabBias({ inputShape: [vocab], units: vocab })] });
}

/**
 * An untied masked-LM output layer: a Dense [m, dim] → [m, vocab] with its own weights and bias,
 * so the transformer's input embedding gets gradients only from the tokens in the input.
 *
 * @example
 * const out = maskedLmUntiedOutput(encoder, 64, 3); // LayersModel [m, 64] → [m, vocab]
 */
export function maskedLmUntiedOutput(encoder: tf.LayersModel, dim: number, seed: number): tf.LayersModel {
  const vocab = transformerTokenEmbeddings(encoder).shape[0];
  return tf.sequential({ layers: [new TokenDense({ inputShape: [dim], units: vocab, seed })] });
}

/**
 * The output layer of a masked LM beyond its head transform: the tied embedding plus an optional
 * output `bias` ({@link maskedLmOutputBias}), or an untied `output` layer ({@link maskedLmUntiedOutput}).
 */
export interface MaskedLmOutput {
  bias?: tf.LayersModel | undefined;
  output?: tf.LayersModel | undefined;
}

/**
 * The masked-LM loss of a transformer's per-token output `seq` [n, L, d]: gathers the selected
 * positions, applies the head transform and the output layer (tied: h · Eᵀ, plus the output bias
 * when given; untied: `out.output`), cross-entropy over the vocabulary ({@link maskedLmLoss}).
 *
 * @example
 * const seq = transformerSequenceModel(encoder).apply(batch.x, { training: true }) as tf.Tensor3D;
 * const loss = maskedLmTerm(encoder, heads.mlm, seq, batch.positions, batch.targets, { bias: heads.mlmBias });
 */
export function maskedLmTerm(
  encoder: tf.LayersModel,
  head: tf.LayersModel,
  seq: tf.Tensor3D,
  positions: tf.Tensor,
  targets: tf.Tensor,
  out: MaskedLmOutput = {},
): tf.Scalar {
  const [n, len, d] = seq.shape;
  const project = (h: tf.Tensor2D): tf.Tensor2D => {
    const z = head.apply(h) as tf.Tensor2D;
    if (out.output) return out.output.apply(z) as tf.Tensor2D;
    const logits = matMulPlainGrads(z, tf.transpose(transformerTokenEmbeddings(encoder)));
    return out.bias ? (out.bias.apply(logits) as tf.Tensor2D) : logits;
  };
  return maskedLmLoss(tf.reshape(seq, [n * len, d]), positions as tf.Tensor1D, targets as tf.Tensor1D, project);
}

/**
 * The heads of a masked LM: the transform `mlm`, plus `mlmBias` (tied, with output bias) or
 * `mlmOutput` (untied), as the config asks.
 *
 * @example
 * const heads = maskedLmHeads(encoder, 64, { tiedOutput: true, outputBias: true }, 7); // { mlm, mlmBias }
 */
export function maskedLmHeads(
  encoder: tf.LayersModel | undefined,
  dim: number,
  config: { tiedOutput: boolean; outputBias: boolean },
  seed: number,
): Record<string, tf.LayersModel> {
  const heads: Record<string, tf.LayersModel> = { mlm: maskedLmHead(dim, seed) };
  if (!encoder) return heads;
  if (!config.tiedOutput) heads.mlmOutput = maskedLmUntiedOutput(encoder, dim, seed + 1);
  else if (config.outputBias) heads.mlmBias = maskedLmOutputBias(encoder);
  return heads;
}

/**
 * The masked-LM term of a task's loss from its heads ({@link maskedLmHeads}).
 *
 * @example
 * const loss = maskedLmTermOf(encoder, heads, seq, batch);
 */
export function maskedLmTermOf(
  encoder: tf.LayersModel,
  heads: Record<string, tf.LayersModel>,
  seq: tf.Tensor3D,
  batch: { positions?: tf.Tensor; targets?: tf.Tensor },
): tf.Scalar {
  if (!heads.mlm || !batch.positions || !batch.targets)
    throw new SslError('The masked-LM term needs the "mlm" head and a batch with positions and targets (see maskedLmBatch).');
  return maskedLmTerm(encoder, heads.mlm, seq, batch.positions, batch.targets, { bias: heads.mlmBias, output: heads.mlmOutput });
}

/**
 * The prepared masked-LM tensors of a token batch: `x` (corrupted ids [n, used], the all-padding
 * columns at the right end dropped, see {@link trimPadding}), `positions` (flat in [n, used]), `targets`.
 *
 * @example
 * const b = maskedLmBatch(raw.tokens, raw.n, raw.length, rng, config);
 */
export function maskedLmBatch(
  tokens: Int32Array,
  n: number,
  length: number,
  rng: Rng,
  rates: Partial<MaskingConfig>,
): { x: tf.Tensor2D; positions: tf.Tensor1D; targets: tf.Tensor1D } {
  const trimmed = trimPadding(tokens, n, length);
  const m = maskTokens(trimmed.ids, n, trimmed.used, rng, rates);
  return { x: tf.tensor2d(m.inputs, [n, trimmed.used], 'int32'), positions: tf.tensor1d(m.positions, 'int32'), targets: tf.tensor1d(m.targets, 'int32') };
}

/** Config fields of the masked-LM output layer (shared with the sentence tasks' joint masked LM). */
export const maskedLmOutputFields = {
  // Untied by default: with a full-vocabulary softmax, a tied matrix gets a gradient on every row at
  // every step, and Adam moves each rare word's embedding by the full step along a shared
  // direction (measured on SpamAssassin after 250 steps: rare-word rows went from cosine ~0 to
  // 0.80-0.94 with each other, and the probe fell below random init); untied, an input embedding
  // only moves when its word is in the input.
  tiedOutput: z
    .boolean()
    .default(false)
    .describe(
      "output layer tied to the input token embedding (BERT) or, false (default), a separate Dense output layer with bias, so rare words' input embeddings move only when they occur",
    ),
  outputBias: z
    .boolean()
    .default(true)
    .describe("learned per-token bias on the output logits (BERT's masked-LM output layer has one; the weights are tied to the input embedding)"),
};

/** Config of masked language modelling; defaults are BERT's masking rates and output layer. */
export const maskedLmConfig = z.object({ ...maskingFields, ...maskedLmOutputFields }).strict();
