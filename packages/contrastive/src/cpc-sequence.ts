import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type SequenceBatch } from '@ssl/core';
import { unitShape } from '@ssl/data';
import { z } from 'zod';
import { cpcHeads, sequenceInfoNCE } from './cpc';

/** Config of CPC on sequences; defaults scale Oord et al. 2018 (audio: 12 steps ahead) to short windows. */
export const cpcSequenceConfig = z
  .object({
    chunk: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe('time series: steps per encoder input (non-overlapping chunks); video: ignored, one frame per step'),
    predictionSteps: z.number().int().min(1).max(32).default(3).describe('steps ahead k = 1..K predicted from the context (one linear W_k each)'),
    contextDim: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(16)
      .describe(
        'units of the causal GRU that summarises the past (the paper: 256 for audio; a small context makes the codes carry the signal: on the sensor series 64 units probed below random init, 16 above)',
      ),
  })
  .strict();

type CpcSequenceConfig = z.output<typeof cpcSequenceConfig>;

/**
 * Cuts every sequence into its time steps as the encoder sees them: frames for video, or
 * non-overlapping chunks of `chunk` steps ([chunk, features]) for a series. Returns the stacked
 * units in (sequence, time) order and the number of steps per sequence.
 *
 * @example
 * const { x, steps } = cpcSequenceUnits(raw, cpcSequenceConfig.parse({})); // 48-step series → 6 chunks of 8
 */
export function cpcSequenceUnits(raw: SequenceBatch, config: CpcSequenceConfig): { x: tf.Tensor; steps: number } {
  const series = raw.frameShape.length === 1;
  const span = series ? config.chunk : 1;
  const steps = Math.floor(raw.length / span);
  if (steps <= config.predictionSteps) {
    throw new SslError(
      `CPC on ${raw.length}-step sequences cut into ${span}-step units has ${steps} steps, too few to predict ${config.predictionSteps} ahead. Use a smaller task.chunk or task.predictionSteps, or longer windows.`,
    );
  }
  const frameSize = raw.frameShape.reduce((a, b) => a * b, 1);
  const unit = span * frameSize;
  const out = new Float32Array(raw.n * steps * unit);
  for (let s = 0; s < raw.n; s++) {
    for (let t = 0; t < steps; t++) {
      const start = (s * raw.length + t * span) * frameSize;
      out.set(raw.frames.subarray(start, start + unit), (s * steps + t) * unit);
    }
  }
  const shape = series ? [config.chunk, raw.frameShape[0]!] : [...raw.frameShape];
  return { x: tf.tensor(out, [raw.n * steps, ...shape]), steps };
}

/**
 * Contrastive Predictive Coding (van den Oord, Li, Vinyals 2018) on sequences: the shared encoder
 * codes each time step (a frame, or a chunk of a series), a causal GRU summarises the past into
 * c_t, and one linear W_k per step predicts the code k steps later; InfoNCE against the codes of
 * other sequences and other times in the batch.
 *
 * @example
 * await train({ task: cpcSequenceTask, encoder, source: sensorWindows, config: { epochs: 5 } });
 */
export const cpcSequenceTask = definePretextTask({
  name: 'cpc-sequence',
  family: 'contrastive',
  modality: 'sequence',
  encoderInputShape: (sample, config) => unitShape(sample, config.chunk),
  title: 'Contrastive Predictive Coding on sequences (CPC)',
  paper: 'van den Oord, Li, Vinyals. Representation Learning with Contrastive Predictive Coding. arXiv 2018',
  description:
    'Each sequence is cut into steps (frames, or chunks of a time series); the encoder codes every step, a causal GRU summarises the steps so far into a context, and one linear map per step k predicts the code k steps later, scored by InfoNCE against the codes of other sequences and other times in the batch.',
  config: cpcSequenceConfig,
  trainDefaults: { epochs: 20, batchSize: 32, lr: 1e-3, optimizer: 'adam', weightDecay: 0 },
  createHeads: ({ featureDim, inputShape, config, seed }) => {
    // The number of steps is only known per batch; a GRU with an open time axis serves any length.
    if (inputShape.length === 2 && inputShape[0] !== config.chunk) {
      throw new SslError(`CPC task.chunk = ${config.chunk} but the encoder reads ${inputShape[0]}-step inputs. Set --set chunk=${inputShape[0]}.`);
    }
    return cpcHeads(featureDim, null, config, seed);
  },
  // x is [sequences, steps, ...unit]: the step count travels in the shape, so the loss never reads a tensor back.
  prepare: (raw, { config }) => {
    const { x, steps } = cpcSequenceUnits(raw, config);
    const seqX = tf.reshape(x, [raw.n, steps, ...x.shape.slice(1)]);
    x.dispose();
    return { x: seqX };
  },
  loss: ({ encode, heads, batch, config }) => {
    const [n, steps] = batch.x.shape as [number, number];
    const codes = encode(tf.reshape(batch.x, [n * steps, ...batch.x.shape.slice(2)]));
    const contexts = heads.context!.apply(tf.reshape(codes, [n, steps, codes.shape[1]])) as tf.Tensor3D;
    const predictors = Array.from({ length: config.predictionSteps }, (_, i) => heads[`predict${i + 1}`]!);
    return sequenceInfoNCE(codes, contexts, predictors);
  },
});
