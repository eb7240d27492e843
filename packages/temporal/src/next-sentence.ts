import { SslError, definePretextTask, type Rng, type TextBatch } from '@ssl/core';
import { PAD_ID, fitLengths } from '@ssl/data';
import { z } from 'zod';
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

/** Config of next sentence prediction; defaults follow BERT (50/50 pairs, [CLS] classifier). */
export const nextSentenceConfig = z.object(sentenceTaskFields).strict();

/**
 * BERT's next-sentence pairs, `[CLS] A [SEP] B [SEP]` per item. A is the item's first j
 * sentences (j random, at least one sentence left after it); label 1: B is the sentence right
 * after A; label 0: B is the item's `other` sentence, which the data source draws from a
 * different document, so it is never the true next sentence. Labels are exactly balanced in
 * each batch (the odd row by a coin). A is cut from its start and B from its end to fit `length`
 * (longest first). An item of a single sentence is split in two halves: A, then its continuation.
 *
 * @example
 * const { tokens, labels } = nextSentencePairs(raw, new Rng(0)); // tokens n × raw.length, labels 1 = "is next"
 */
export function nextSentencePairs(raw: TextBatch, rng: Rng): { tokens: Int32Array; labels: Int32Array } {
  checkTextBatch(raw, 'next-sentence');
  const { n, length } = raw;
  if (!raw.other || !raw.otherLength) {
    throw new SslError(
      'Task "next-sentence" needs each batch to carry `other` sentences from a different document (the text data source adds them for corpora of 2+ documents). Use a multi-document text dataset.',
    );
  }
  if (length < 5) throw new SslError(`Task "next-sentence" needs rows of at least 5 tokens ([CLS] A [SEP] B [SEP]); got length ${length}.`);
  const labels = balancedLabels(n, rng);
  const tokens = new Int32Array(n * length);
  for (let r = 0; r < n; r++) {
    let sents = itemSentences(raw, r);
    if (sents.length === 0) throw new SslError(`Task "next-sentence": item ${raw.indices[r]} holds no tokens. Check the text data source.`);
    if (sents.length === 1) sents = splitEvenly(sents[0]!, 2);
    const j = sents.length === 1 ? 1 : 1 + rng.int(sents.length - 1);
    const a = concat(sents.slice(0, j));
    let b: Int32Array;
    if (labels[r] === 1 && j < sents.length) b = sents[j]!;
    else {
      const row = raw.other.subarray(r * raw.otherLength, (r + 1) * raw.otherLength);
      b = row.filter((id) => id !== PAD_ID);
      labels[r] = 0; // a one-token item has no next sentence: it becomes a negative
    }
    const keep = fitLengths([a.length, b.length], length - 3);
    packSegments(tokens.subarray(r * length, (r + 1) * length), [a, b], keep, [true, false]);
  }
  return { tokens, labels };
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Next sentence prediction (BERT, Devlin et al. 2019): `[CLS] A [SEP] B [SEP]` where B is the true
 * next sentence half of the time and a sentence of another document otherwise; a classifier on
 * the transformer's [CLS] output tells them apart. `mlm: true` adds the masked-LM loss on the
 * same inputs, as BERT trains them.
 *
 * @example
 * await train({ task: nextSentenceTask, taskConfig: { mlm: true }, encoder, source });
 */
export const nextSentenceTask = definePretextTask({
  name: 'next-sentence',
  family: 'temporal',
  modality: 'text',
  title: 'Next sentence prediction (BERT)',
  paper: 'Devlin, Chang, Lee, Toutanova. BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding. NAACL 2019',
  description:
    "Pairs [CLS] A [SEP] B [SEP]: in 50% B is the sentence that follows A in the document, in 50% a random sentence from another document. A binary classifier on the transformer's [CLS] output predicts which; judging whether B continues A needs topic and discourse coherence. Optionally trained jointly with the masked language model (mlm: true).",
  config: nextSentenceConfig,
  defaultEncoder: 'transformer',
  trainDefaults: { epochs: 2, batchSize: 32, lr: 2e-3, optimizer: 'adam', weightDecay: 0.01, limit: 4000 },
  // Items of 3 consecutive sentences: A is the first 1 or 2, the true B the one after it.
  dataNeeds: () => ({ sentencesPerItem: 3 }),
  createHeads: ({ featureDim, config, seed, encoder }) => sentenceTaskHeads(featureDim, config, seed, 2, encoder),
  prepare: (raw, { config, rng }) => {
    const { tokens, labels } = nextSentencePairs(raw, rng.fork('pairs'));
    return sentenceTaskBatch(tokens, labels, raw.length, 2, config, rng.fork('mask'));
  },
  loss: sentenceTaskLoss,
});
