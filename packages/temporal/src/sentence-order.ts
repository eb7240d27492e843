import { SslError, definePretextTask, type Rng, type TextBatch } from '@ssl/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { classifierHead } from '@ssl/encoders';
import { fitLengths } from '@ssl/data';
import {
  balancedLabels,
  checkTextBatch,
  itemSentences,
  packSegments,
  sentenceTaskBatch,
  sentenceTaskFields,
  sentenceTaskHeads,
  sentenceTaskLoss,
  splitEvenly,
} from './text-segments';

/** Config of sentence-order prediction; defaults follow Wu et al. 2019 (ordered vs shuffled windows of consecutive utterances). */
export const sentenceOrderConfig = z
  .object({
    sentences: z
      .number()
      .int()
      .min(2)
      .max(16)
      .default(3)
      .describe('consecutive sentences per window (k); items with fewer: joint uses all they have, separate halves the longest until there are k'),
    encoding: z
      .enum(['separate', 'joint'])
      .default('separate')
      .describe(
        "separate: the encoder embeds each sentence on its own and a classifier reads the k concatenated features (Wu et al.'s utterance encoder + order reasoning); joint: the window is one [CLS] s₁ [SEP] … row and the classifier reads [CLS] (ALBERT-style; needed for mlm)",
      ),
    ...sentenceTaskFields,
  })
  .strict();

/**
 * A uniformly random permutation of 0..k−1 that is never the identity (k ≥ 2).
 *
 * @example
 * nonIdentityPermutation(3, new Rng(0)); // e.g. [2, 0, 1]
 */
export function nonIdentityPermutation(k: number, rng: Rng): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new SslError(`A shuffle needs at least 2 segments; got ${k}.`);
  for (;;) {
    const p = rng.permutation(k);
    if (p.some((v, i) => v !== i)) return p;
  }
}

const sameTokens = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * One shown window per item: its segments in the order shown, the permutation applied and the label
 * (1 = in order). `separate` fits each segment on its own row of `length` (`[CLS] s [SEP]`) and
 * always yields exactly `k` segments (the longest is halved while there are fewer); otherwise the
 * window shares one row (`[CLS] s₁ [SEP] … s_k [SEP]`) and is cut longest-first to fit it.
 */
function orderWindows(raw: TextBatch, k: number, rng: Rng, separate: boolean): { shown: Int32Array[][]; labels: Int32Array; orders: Int32Array[] } {
  checkTextBatch(raw, 'sentence-order');
  const { n, length } = raw;
  const need = separate ? 3 : 2 * k + 3;
  if (length < need)
    throw new SslError(
      `Task "sentence-order" needs rows of at least ${need} tokens for ${k} sentences; got length ${length}. Lower sentences or raise the length.`,
    );
  const labels = balancedLabels(n, rng);
  const shown: Int32Array[][] = [];
  const orders: Int32Array[] = [];
  for (let r = 0; r < n; r++) {
    let sents = itemSentences(raw, r);
    if (sents.length === 0) throw new SslError(`Task "sentence-order": item ${raw.indices[r]} holds no tokens. Check the text data source.`);
    if (sents.length === 1) sents = splitEvenly(sents[0]!, k);
    const start = sents.length > k ? rng.int(sents.length - k + 1) : 0;
    const window = sents.slice(start, start + k);
    if (separate) fillWindow(window, k);
    const keep = separate
      ? window.map((s) => Math.min(s.length, length - 2))
      : fitLengths(
          window.map((s) => s.length),
          length - 1 - window.length,
        );
    const cut = window.map((s, i) => s.subarray(0, keep[i]));
    let order: Int32Array = Int32Array.from(cut, (_, i) => i);
    if (labels[r] === 0) {
      const distinct = cut.some((s) => !sameTokens(s, cut[0]!));
      if (cut.length < 2 || !distinct)
        labels[r] = 1; // nothing to shuffle: one segment, or all equal
      else {
        do order = nonIdentityPermutation(cut.length, rng);
        while (order.every((o, i) => sameTokens(cut[o]!, cut[i]!)));
      }
    }
    orders.push(order);
    shown.push(Array.from(order, (o) => cut[o]!));
  }
  return { shown, labels, orders };
}

/** Halves the longest segment (in place, keeping the text order) until there are `k`; pads with empty segments when the tokens run out. */
function fillWindow(window: Int32Array[], k: number): void {
  while (window.length < k) {
    let longest = 0;
    window.forEach((s, i) => {
      if (s.length > window[longest]!.length) longest = i;
    });
    const s = window[longest]!;
    if (s.length < 2) window.push(new Int32Array(0));
    else window.splice(longest, 1, ...splitEvenly(s, 2));
  }
}

/**
 * Ordered vs shuffled sentence windows, `[CLS] s₁ [SEP] … s_k [SEP]` per item: a window of up to
 * `k` consecutive sentences of the item (random start), each cut to fit `length` (longest first,
 * before any shuffle, so both classes have the same segment lengths); label 1 keeps the order,
 * label 0 applies a non-identity permutation that changes the token sequence (segments that are
 * equal as token lists are never just swapped with each other). Labels are exactly balanced per
 * batch. An item of a single sentence is split into `k` pieces, whose order is then the target.
 *
 * @example
 * const { tokens, labels } = sentenceOrderSequences(raw, 3, new Rng(0)); // labels 1 = in order
 */
export function sentenceOrderSequences(raw: TextBatch, k: number, rng: Rng): { tokens: Int32Array; labels: Int32Array; orders: Int32Array[] } {
  const { shown, labels, orders } = orderWindows(raw, k, rng, false);
  const { length } = raw;
  const tokens = new Int32Array(raw.n * length);
  shown.forEach((seq, r) =>
    packSegments(
      tokens.subarray(r * length, (r + 1) * length),
      seq,
      seq.map((s) => s.length),
    ),
  );
  return { tokens, labels, orders };
}

/**
 * The same windows for a hierarchical model (Wu et al.'s utterance encoder, then order
 * reasoning): exactly `k` segments per item, each on its own row `[CLS] s [SEP]` of `length`
 * tokens, rows of item r at r·k … r·k+k−1 in the order shown. Fewer sentences than `k`: the
 * longest is halved until there are `k`.
 *
 * @example
 * const { tokens, labels } = sentenceOrderRows(raw, 3, new Rng(0)); // tokens: [n·3, length]
 */
export function sentenceOrderRows(raw: TextBatch, k: number, rng: Rng): { tokens: Int32Array; labels: Int32Array; orders: Int32Array[] } {
  const { shown, labels, orders } = orderWindows(raw, k, rng, true);
  const { length } = raw;
  const tokens = new Int32Array(raw.n * k * length);
  shown.forEach((seq, r) =>
    seq.forEach((s, j) => {
      const row = (r * k + j) * length;
      packSegments(tokens.subarray(row, row + length), [s], [s.length]);
    }),
  );
  return { tokens, labels, orders };
}

/**
 * Sentence (utterance) order prediction (Wu et al., ACL 2019): windows of consecutive sentences
 * are shown in their order or shuffled (never the identity), balanced; a classifier says whether
 * the order is right. By default (`encoding: 'separate'`) the model is hierarchical, as the paper's
 * SSN: the encoder embeds each sentence on its own and the classifier reads the k features in the
 * order shown, so the order signal reaches the very features a probe reads. `encoding: 'joint'`
 * packs the window into one `[CLS] s₁ [SEP] …` row and classifies [CLS] (ALBERT-style); only
 * then can `mlm: true` add the masked-LM loss.
 *
 * @example
 * await train({ task: sentenceOrderTask, taskConfig: { sentences: 3 }, encoder, source });
 */
export const sentenceOrderTask = definePretextTask({
  name: 'sentence-order',
  family: 'temporal',
  modality: 'text',
  title: 'Sentence / utterance order prediction',
  paper: 'Wu, Wang, Wang. Self-Supervised Dialogue Learning. ACL 2019',
  description:
    "A window of k consecutive sentences is shown either in its original order or shuffled (a permutation that is never the identity), half and half; a binary classifier predicts whether the order is correct. Default (encoding separate, the paper's hierarchical SSN): the encoder embeds each sentence on its own and the classifier reads the k features concatenated in the order shown; encoding joint: one [CLS] s1 [SEP] … s_k [SEP] row, classifier on [CLS] (needed for mlm). This needs the discourse flow of the text, not just its words (the same sentences appear in both classes).",
  config: sentenceOrderConfig,
  defaultEncoder: 'transformer',
  // Measured with separate encoding (seed 0): 4,000 windows × 6 epochs let the classifier memorise
  // them (order loss 0.36) for +0.2 / +0.5 probe points (spam / Brown); 16,000 windows × 2 epochs,
  // the same order of steps, gave +2.0 / +1.0.
  trainDefaults: { epochs: 2, batchSize: 32, lr: 5e-4, optimizer: 'adam', weightDecay: 0.01, limit: 16000 },
  // Each item is one window of k consecutive sentences (Wu et al. use k = 3).
  dataNeeds: (config) => ({ sentencesPerItem: config.sentences }),
  createHeads: ({ featureDim, config, seed, encoder }) => {
    if (config.encoding === 'joint') return sentenceTaskHeads(featureDim, config, seed, 2, encoder);
    if (config.mlm)
      throw new SslError(
        'Task "sentence-order": mlm: true needs encoding "joint" (the masked LM reads one token sequence per window); got encoding "separate". Set encoding=joint or mlm=false.',
      );
    return { classifier: classifierHead(config.sentences * featureDim, config.hidden, 2, seed) };
  },
  prepare: (raw, { config, rng }) => {
    const windows = config.encoding === 'joint' ? sentenceOrderSequences : sentenceOrderRows;
    const { tokens, labels } = windows(raw, config.sentences, rng.fork('order'));
    return sentenceTaskBatch(tokens, labels, raw.length, 2, config, rng.fork('mask'));
  },
  loss: (ctx) => {
    if (ctx.config.encoding === 'joint') return sentenceTaskLoss(ctx);
    const { encode, heads, batch } = ctx;
    const f = encode(batch.x);
    const n = batch.y.shape[0];
    return tf.losses.softmaxCrossEntropy(batch.y, heads.classifier!.apply(tf.reshape(f, [n, -1])) as tf.Tensor2D) as tf.Scalar;
  },
});
