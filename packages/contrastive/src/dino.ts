import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, l2NormalizeRows, type TaskState } from '@ssl/core';
import { z } from 'zod';
import { chunks, cosineMomentum, mlpHead, multiCropBatch, multiCropFields, normalizeColumns, viewFields } from './joint';
import { dinoLoss } from './losses';
import { detach, momentumTwin, type MomentumTwin } from './momentum';
import { prototypeKernel } from './swav';

/**
 * Config of DINO. Paper (Caron et al. 2021): head 3-layer MLP 2048 → bottleneck 256 → weight-
 * normalised layer to K = 65 536, τ_s 0.1, τ_t 0.04 (warmed up to 0.07), centre momentum 0.9,
 * teacher momentum 0.996 → 1 (cosine), multi-crop 2×224 + 10×96, 100–800 epochs. Scaled: 256-unit
 * MLP → 64 → K = 1024, teacher momentum 0.99 → 1 (short runs), τ_t fixed at 0.04, multi-crop off
 * by default (turn it on with localCrops).
 */
export const dinoConfig = z
  .object({
    ...viewFields,
    ...multiCropFields,
    headHidden: z.number().int().min(1).max(8192).default(256).describe('hidden units of the two GELU layers of the head (paper 2048)'),
    bottleneckDim: z.number().int().min(1).max(8192).default(64).describe('L2-normalised bottleneck before the last layer (paper 256)'),
    outDim: z.number().int().min(2).max(65536).default(1024).describe('K: output dimensions of the weight-normalised last layer (paper 65 536)'),
    studentTemperature: z.number().positive().max(10).default(0.1).describe('τ_s of the student softmax (paper 0.1)'),
    teacherTemperature: z.number().positive().max(10).default(0.04).describe('τ_t of the teacher softmax: sharpening (paper 0.04, warmed up to 0.07)'),
    centerMomentum: z.number().min(0).max(1).default(0.9).describe('momentum m of the centre c ← m·c + (1 − m)·mean(teacher outputs) (paper 0.9)'),
    baseMomentum: z
      .number()
      .min(0)
      .max(1)
      .default(0.99)
      .describe('teacher EMA momentum at step 0, rising to 1 on a cosine (paper 0.996; 0.99 suits short runs)'),
  })
  .strict();

/** DINO's per-run state: the teacher (EMA of encoder + head) and the centre. */
export interface DinoState extends TaskState {
  /** [teacher encoder, teacher projector, teacher last layer]. */
  teacher: MomentumTwin;
  /** [1, K] EMA of the teacher's batch-mean outputs. */
  center: tf.Variable;
  /** Batch mean of this step's teacher outputs, kept from the loss for the centre update. */
  pending?: tf.Tensor;
  /** The teacher momentum of the last EMA update. */
  lastMomentum: number;
}

/**
 * The end of DINO's head: the MLP's bottleneck output is L2-normalised and multiplied by the
 * weight-normalised last layer (unit-length columns, i.e. weight norm with g fixed at 1).
 *
 * @example
 * const logits = dinoLogits(heads.projector.apply(features) as tf.Tensor2D, heads.prototypes); // [N, K]
 */
export function dinoLogits(bottleneck: tf.Tensor2D, prototypes: tf.LayersModel): tf.Tensor2D {
  return tf.tidy(() => l2NormalizeRows(bottleneck).matMul(normalizeColumns(prototypeKernel(prototypes) as tf.Tensor2D)) as tf.Tensor2D);
}

/**
 * DINO (Caron et al., ICCV 2021): self-distillation with no labels. A student (encoder + head)
 * matches the output distribution of a teacher, an EMA of the student that gets no gradient; the
 * teacher's outputs are centred (minus an EMA of its batch means) and sharpened (τ_t < τ_s), which
 * together avoid collapse. Cross-entropy over every (teacher global view, other student view)
 * pair; multi-crop adds local views seen by the student only. Uses only the encoder's feature
 * vector, so it works with any image encoder (ConvNet, ResNet, ViT).
 *
 * @example
 * await train({ task: dinoTask, encoder, source, taskConfig: { localCrops: 4 } });
 */
export const dinoTask = definePretextTask({
  name: 'dino',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'DINO (self-distillation with no labels)',
  paper: 'Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin. Emerging Properties in Self-Supervised Vision Transformers. ICCV 2021',
  description:
    'A student network (encoder + MLP head with a weight-normalised last layer) is trained to match the softmax output of a teacher network, an EMA of the student that gets no gradient, on different views of the same image. The teacher output is centred (an EMA of its batch means is subtracted) and sharpened (τ_t 0.04 vs τ_s 0.1): centring stops one dimension from dominating, sharpening stops the uniform solution. Cross-entropy over all pairs of a teacher global view and a different student view (multi-crop optional).',
  config: dinoConfig,
  // Scaled to minutes on 2 cores (the paper: batch 1024, AdamW, 100–800 epochs of ImageNet). 48,000
  // images × 2 epochs (750 steps), twice SimCLR's budget: on the Fashion-MNIST validation split
  // 374 steps left the probe below random init (−0.40), 750 steps put it above (+0.36).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 1e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 48000 },
  examplesPerInput: (c) => 2 + c.localCrops,
  createHeads: ({ featureDim, config, seed }) => ({
    projector: mlpHead({ inputDim: featureDim, hidden: [config.headHidden, config.headHidden], outputDim: config.bottleneckDim, seed, activation: 'gelu' }),
    prototypes: mlpHead({ inputDim: config.bottleneckDim, hidden: [], outputDim: config.outDim, seed: seed + 20, outputBias: false }),
  }),
  createState: ({ encoder, heads, config }): DinoState => {
    if (!heads?.projector || !heads.prototypes) throw new SslError('dino: createState needs the heads built by createHeads (pass { heads }).');
    const teacher = momentumTwin([encoder, heads.projector, heads.prototypes]);
    const center = tf.tidy(() => tf.variable(tf.zeros([1, config.outDim]), false));
    const state: DinoState = {
      teacher,
      center,
      lastMomentum: config.baseMomentum,
      variables: () => [...teacher.variables(), center],
      afterStep: ({ encoder: enc, heads: h, step, totalSteps }) => {
        state.lastMomentum = cosineMomentum(config.baseMomentum, step, totalSteps);
        teacher.update([enc, h.projector!, h.prototypes!], state.lastMomentum);
        if (state.pending) {
          const m = config.centerMomentum;
          tf.tidy(() => center.assign(center.mul(m).add(state.pending!.mul(1 - m))));
          state.pending.dispose();
          state.pending = undefined;
        }
      },
      dispose: () => {
        state.pending?.dispose();
        teacher.dispose();
        center.dispose();
      },
    };
    return state;
  },
  prepare: (raw, { config, rng }) => multiCropBatch(raw, config, rng),
  loss: ({ encode, heads, batch, config, state, training, monitorEmbedding }) => {
    const bottleneck = heads.projector.apply(encode(batch.x), { training }) as tf.Tensor2D;
    const n = bottleneck.shape[0] / 2;
    monitorEmbedding?.(bottleneck.slice([0, 0], [n, -1]));
    const student = chunks(dinoLogits(bottleneck, heads.prototypes), 2) as tf.Tensor2D[];
    if (batch.local) {
      const local = dinoLogits(heads.projector.apply(encode(batch.local), { training }) as tf.Tensor2D, heads.prototypes);
      student.push(...(chunks(local, local.shape[0] / n) as tf.Tensor2D[]));
    }
    const [tEncoder, tProjector, tPrototypes] = state.teacher.models as [tf.LayersModel, tf.LayersModel, tf.LayersModel];
    const teacherOut = detach(dinoLogits(tProjector.apply(tEncoder.apply(batch.x, { training }), { training }) as tf.Tensor2D, tPrototypes));
    if (training) {
      state.pending?.dispose();
      state.pending = tf.keep(teacherOut.mean(0, true));
    }
    return dinoLoss(student, chunks(teacherOut, 2) as tf.Tensor2D[], state.center, config.studentTemperature, config.teacherTemperature);
  },
});
