import * as tf from '@tensorflow/tfjs';
import { definePretextTask } from '@ssl/core';
import { maskedLmBatch, maskedLmConfig, maskedLmHeads, maskedLmTermOf, transformerSequenceModel, transformerWidth } from '@ssl/encoders';

// The building blocks live in @ssl/encoders (shared with the temporal text tasks); re-exported here.
export {
  VocabBias,
  isMaskable,
  maskTokens,
  maskedLmBatch,
  maskedLmConfig,
  maskedLmHead,
  maskedLmHeads,
  maskedLmLoss,
  maskedLmOutputBias,
  maskedLmOutputFields,
  maskedLmTerm,
  maskedLmTermOf,
  maskedLmUntiedOutput,
  maskingConfig,
  maskingFields,
} from '@ssl/encoders';
export type { MaskedLmOutput, MaskedTokens, MaskingConfig } from '@ssl/encoders';

/**
 * Masked language model (BERT, Devlin et al., NAACL 2019) on a transformer encoder: 15% of the
 * tokens are selected, 80% of those replaced by [MASK], 10% by a random token, 10% kept; the
 * encoder's per-token output ({@link transformerSequenceModel}) plus a Dense-GELU-LayerNorm head
 * and an output layer (untied by default; `tiedOutput: true` uses the token embedding plus BERT's
 * output bias) predict the original ids, with cross-entropy on the selected positions only. The
 * encoder's pooled output (mean of tokens, by default over all hidden states) is what probes see.
 *
 * @example
 * await train({ task: maskedLmTask, encoder: createTransformer({ vocabSize, maxLength: 64, seed: 0 }), source });
 */
export const maskedLmTask = definePretextTask({
  name: 'masked-lm',
  family: 'context',
  modality: 'text',
  title: 'Masked language model (BERT)',
  paper: 'Devlin, Chang, Lee, Toutanova. BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding. NAACL 2019',
  description:
    'A random 15% of the tokens are selected; 80% of them are replaced by [MASK], 10% by a random token and 10% left unchanged, and a transformer predicts the original tokens from both sides of the context (cross-entropy over the vocabulary, on the selected positions only; a separate output layer by default, or tied to the input embedding with an output bias as in BERT). Filling in words needs syntax and topic, so the token features carry both.',
  config: maskedLmConfig,
  defaultEncoder: 'transformer',
  // Scaled to a few minutes on 2 cores (BERT: 1M steps of 256 × 512 tokens).
  trainDefaults: { epochs: 2, batchSize: 32, lr: 2e-3, optimizer: 'adam', weightDecay: 0.01, limit: 4000 },
  // Any layout works; rows of 3 consecutive sentences (BERT: contiguous spans of text) are the
  // layout the README's figures were measured on.
  dataNeeds: () => ({ sentencesPerItem: 3 }),
  createHeads: ({ featureDim, config, seed, encoder }) => maskedLmHeads(encoder, encoder ? transformerWidth(encoder) : featureDim, config, seed),
  prepare: (raw, { config, rng }) => maskedLmBatch(raw.tokens, raw.n, raw.length, rng, config),
  loss: ({ encoder, heads, batch, training }) => {
    const seq = transformerSequenceModel(encoder).apply(batch.x, { training }) as tf.Tensor3D;
    return maskedLmTermOf(encoder, heads, seq, batch);
  },
});
