import * as tf from '@tensorflow/tfjs';
import { SslError, type Heads, type LossContext, type Rng, type TextBatch } from '@ssl/core';
import { CLS_ID, PAD_ID, SEP_ID } from '@ssl/data';
import {
  classifierHead,
  maskedLmBatch,
  maskedLmHeads,
  maskedLmOutputFields,
  maskedLmTermOf,
  maskingFields,
  transformerSequenceModel,
  transformerWidth,
  trimPadding,
  type MaskingConfig,
} from '@ssl/encoders';
import { z } from 'zod';

/**
 * The sentences of item `r` of a text batch, in order, read from `raw.sentence` (each token's
 * sentence index; -1 on padding). Special tokens are dropped. Without `sentence`, the item's
 * non-padding tokens form one sentence.
 *
 * @example
 * itemSentences(raw, 0); // [Int32Array [...first sentence], Int32Array [...second]]
 */
export function itemSentences(raw: TextBatch, r: number): Int32Array[] {
  const { tokens, length } = raw;
  const segs: number[][] = [];
  for (let t = r * length; t < (r + 1) * length; t++) {
    const id = tokens[t]!;
    if (id === PAD_ID || id === CLS_ID || id === SEP_ID) continue;
    const s = raw.sentence ? raw.sentence[t]! : 0;
    if (s < 0) continue;
    (segs[s] ??= []).push(id);
  }
  return segs.filter((s) => s && s.length > 0).map((s) => Int32Array.from(s));
}

/**
 * Splits one token run into `k` nearly equal consecutive pieces (fewer when it is shorter than k).
 *
 * @example
 * splitEvenly(Int32Array.of(7, 8, 9, 10), 2); // [[7, 8], [9, 10]]
 */
export function splitEvenly(ids: Int32Array, k: number): Int32Array[] {
  const parts = Math.max(1, Math.min(k, ids.length));
  return Array.from({ length: parts }, (_, i) => ids.subarray(Math.floor((i * ids.length) / parts), Math.floor(((i + 1) * ids.length) / parts)));
}

/**
 * Writes `[CLS] s₁ [SEP] s₂ [SEP] …` into `out` (one row of `length`, already 0-filled), each
 * segment cut to `keep[i]` tokens: from its start, or from its end where `fromEnd[i]` (a first
 * segment keeps the tokens next to the second).
 *
 * @example
 * const row = new Int32Array(8);
 * packSegments(row, [Int32Array.of(7, 8), Int32Array.of(9)], [2, 1]); // [2, 7, 8, 3, 9, 3, 0, 0]
 */
export function packSegments(out: Int32Array, segments: Int32Array[], keep: number[], fromEnd: boolean[] = []): void {
  let p = 0;
  out[p++] = CLS_ID;
  segments.forEach((s, i) => {
    const k = keep[i]!;
    out.set(fromEnd[i] ? s.subarray(s.length - k) : s.subarray(0, k), p);
    p += k;
    out[p++] = SEP_ID;
  });
}

/**
 * Config fields shared by the sentence-pair tasks: the [CLS] classifier and optional joint masked LM.
 *
 * @example
 * const cfg = z.object(sentenceTaskFields).parse({ mlm: true });
 */
export const sentenceTaskFields = {
  hidden: z.number().int().min(0).max(4096).default(64).describe('hidden units of the classifier on the [CLS] token (0: linear; BERT: one tanh pooler layer)'),
  mlm: z.boolean().default(false).describe('also train masked language modelling on the same inputs (BERT trains both jointly)'),
  ...maskingFields,
  ...maskedLmOutputFields,
};

/** Parsed shared fields. */
export type SentenceTaskConfig = { hidden: number; mlm: boolean; tiedOutput: boolean; outputBias: boolean } & MaskingConfig;

/**
 * Heads of a sentence-pair task: the [CLS] classifier, plus the masked-LM heads when `mlm`
 * (transform, and output bias or untied output layer: see maskedLmHeads; they need the transformer `encoder`).
 *
 * @example
 * const heads = sentenceTaskHeads(64, config, seed, 2, encoder); // { classifier, mlm?, mlmBias? }
 */
export function sentenceTaskHeads(
  featureDim: number,
  config: SentenceTaskConfig,
  seed: number,
  classes: number,
  encoder?: tf.LayersModel,
): Record<string, tf.LayersModel> {
  // The heads read per-token features ([CLS], masked positions): the transformer's width, which
  // differs from the pooled feature size when the encoder concatenates hidden states.
  const dim = encoder ? transformerWidth(encoder) : featureDim;
  return {
    classifier: classifierHead(dim, config.hidden, classes, seed),
    ...(config.mlm ? maskedLmHeads(encoder, dim, config, seed + 7) : {}),
  };
}

/** A prepared sentence-task batch: token ids, one-hot labels, and the masked-LM targets when `mlm`. */
export type SentenceTaskBatch = { x: tf.Tensor2D; y: tf.Tensor2D; positions?: tf.Tensor1D; targets?: tf.Tensor1D };

/**
 * Tensors of a sentence-task batch: ids `x` (masked when `mlm`; trailing all-padding columns
 * dropped), one-hot `y`, and masked-LM targets when `mlm`. `tokens` holds rows of `length`: one per
 * label, or several per label for a model that encodes each segment on its own row.
 *
 * @example
 * const batch = sentenceTaskBatch(tokens, labels, 128, 2, config, rng); // { x, y, positions?, targets? }
 */
export function sentenceTaskBatch(
  tokens: Int32Array,
  labels: Int32Array,
  length: number,
  classes: number,
  config: SentenceTaskConfig,
  rng: Rng,
): SentenceTaskBatch {
  const rows = tokens.length / length;
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes) as tf.Tensor2D;
  if (config.mlm) return { ...maskedLmBatch(tokens, rows, length, rng, config), y };
  const trimmed = trimPadding(tokens, rows, length);
  return { x: tf.tensor2d(trimmed.ids, [rows, trimmed.used], 'int32'), y };
}

/**
 * Cross-entropy of the classifier on the [CLS] token's output, plus the masked-LM loss when the batch has its targets.
 *
 * @example
 * const task = definePretextTask({ ...spec, loss: sentenceTaskLoss });
 */
export function sentenceTaskLoss({ encoder, heads, batch, training }: LossContext<SentenceTaskConfig, Heads, unknown, SentenceTaskBatch>): tf.Scalar {
  const seq = transformerSequenceModel(encoder).apply(batch.x, { training }) as tf.Tensor3D;
  const [n, , d] = seq.shape;
  const cls = tf.reshape(tf.slice(seq, [0, 0, 0], [n, 1, d]), [n, d]);
  const loss = tf.losses.softmaxCrossEntropy(batch.y, heads.classifier!.apply(cls) as tf.Tensor2D) as tf.Scalar;
  if (!batch.positions) return loss;
  return tf.add(loss, maskedLmTermOf(encoder, heads, seq, batch));
}

/**
 * Exactly balanced binary labels in random order: ⌊n/2⌋ ones and ⌊n/2⌋ zeros, the odd one (if
 * any) by a fair coin.
 *
 * @example
 * balancedLabels(4, new Rng(0)); // e.g. [1, 0, 0, 1]
 */
export function balancedLabels(n: number, rng: Rng): Int32Array {
  const perm = rng.permutation(n);
  const labels = new Int32Array(n);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) labels[perm[i]!] = i < half ? 1 : i < 2 * half ? 0 : rng.bernoulli(0.5) ? 1 : 0;
  return labels;
}

/**
 * Throws an SslError unless the batch is a text batch whose token array matches n × length.
 *
 * @example
 * checkTextBatch(raw, 'sentence-order');
 */
export function checkTextBatch(raw: TextBatch, task: string): void {
  if (raw.modality !== 'text' || raw.tokens.length !== raw.n * raw.length) {
    throw new SslError(
      `Task "${task}" needs text batches of n × length token ids; got ${raw.tokens.length} ids for ${raw.n} × ${raw.length}. Use a text dataset.`,
    );
  }
}
