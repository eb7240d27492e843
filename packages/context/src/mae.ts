import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask } from '@ssl/core';
import { TokenDense, createVitBlocks, sinCosPositions2d, vitParts, type VitParts } from '@ssl/encoders';
import { z } from 'zod';
import { imageGrid } from './context-encoder';

type Sym = tf.SymbolicTensor;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** Config of MAE; defaults are He et al.'s (mask ratio 75 %, normalised-pixel target), the decoder scaled down. */
export const maeConfig = z
  .object({
    maskRatio: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.75)
      .describe('share of the patches removed per image (paper: 75 %); the visible count is floor(patches × (1 − maskRatio)), at least 1'),
    normPixLoss: z
      .boolean()
      .default(true)
      .describe("target = each patch's pixels normalised by the patch's own mean and variance (the paper's best); false: raw pixels"),
    decoderDim: z.number().int().min(4).max(1024).default(64).describe('token width of the light decoder (paper: 512 for ViT-L)'),
    decoderDepth: z.number().int().min(1).max(16).default(2).describe('transformer blocks of the decoder (paper: 8)'),
    decoderHeads: z.number().int().min(1).max(32).default(4).describe('attention heads of the decoder; must divide decoderDim'),
  })
  .strict();

/** Parsed MAE config. */
export type MaeConfig = z.output<typeof maeConfig>;

/**
 * MAE's random masking of one batch: per image, the `keep` patches with the smallest noise are visible.
 *
 * @example
 * const m = patchMaskFromNoise(noise, 2, 16, 16, 0.75); // m.keep 4; m.visible: 2 × 4 ascending patch indices
 */
export interface PatchMask {
  /** Visible patches per image: floor(L × (1 − maskRatio)), at least 1. */
  keep: number;
  /** Visible patch indices, `n × keep`, ascending within each image. */
  visible: Int32Array;
  /** 1 on removed patches, 0 on visible ones, `n × L`. */
  masked: Float32Array;
}

/** Number of visible patches out of `numPatches` for a mask ratio, checked to leave some patches both visible and masked. */
export function visiblePatchCount(numPatches: number, maskRatio: number): number {
  const keep = Math.floor(numPatches * (1 - maskRatio));
  if (keep < 1 || keep >= numPatches) {
    throw new SslError(
      `MAE: maskRatio ${maskRatio} of ${numPatches} patches leaves ${keep} visible; it must leave 1 to ${numPatches - 1}. Pick --set task.maskRatio between ${(1 / numPatches).toFixed(3)} and ${(1 - 1 / numPatches).toFixed(3)}, or smaller patches.`,
    );
  }
  return keep;
}

/**
 * Random patch masking as MAE draws it: each image ranks its `numPatches` patches by uniform noise
 * and keeps the `keep` lowest (a uniformly random subset, different per image). `noise` has `stride`
 * values per image, of which the first `numPatches` are used.
 *
 * @example
 * const m = patchMaskFromNoise(Float32Array.of(0.9, 0.1, 0.5, 0.3), 1, 4, 4, 0.5); // visible [1, 3], masked [1, 0, 1, 0]
 */
export function patchMaskFromNoise(noise: Float32Array, n: number, stride: number, numPatches: number, maskRatio: number): PatchMask {
  if (numPatches > stride || noise.length < n * stride)
    throw new SslError(
      `MAE masking: ${noise.length} noise values cannot rank ${numPatches} patches for ${n} images (stride ${stride}). Pass n × stride values with stride ≥ patches.`,
    );
  const keep = visiblePatchCount(numPatches, maskRatio);
  const visible = new Int32Array(n * keep);
  const masked = new Float32Array(n * numPatches).fill(1);
  const order = Array.from({ length: numPatches }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const row = noise.subarray(i * stride, i * stride + numPatches);
    order.sort((a, b) => row[a]! - row[b]! || a - b);
    const kept = order.slice(0, keep).sort((a, b) => a - b);
    kept.forEach((j, t) => {
      visible[i * keep + t] = j;
      masked[i * numPatches + j] = 0;
    });
  }
  return { keep, visible, masked };
}

/**
 * Draws MAE's random patch mask for `n` images with the step's generator (deterministic per seed).
 *
 * @example
 * const m = randomPatchMask(8, 64, 0.75, new Rng(0)); // 16 visible, 48 masked per image
 */
export function randomPatchMask(n: number, numPatches: number, maskRatio: number, rng: Rng): PatchMask {
  return patchMaskFromNoise(
    Float32Array.from({ length: n * numPatches }, () => rng.float()),
    n,
    numPatches,
    numPatches,
    maskRatio,
  );
}

/**
 * One-hot selection matrices [n, keep, L] of the visible patches: row t of image i picks patch visible[i·keep + t].
 *
 * @example
 * const sel = selectionMatrix(m.visible, n, m.keep, 49); // tf.matMul(sel, patches) → visible patches
 */
export function selectionMatrix(visible: Int32Array, n: number, keep: number, numPatches: number): tf.Tensor3D {
  const data = new Float32Array(n * keep * numPatches);
  for (let r = 0; r < n * keep; r++) data[r * numPatches + visible[r]!] = 1;
  return tf.tensor3d(data, [n, keep, numPatches]);
}

/**
 * MAE's pixel target: each patch's values normalised by its own mean and (unbiased, as PyTorch's
 * default in the authors' code) variance, (x − μ) / √(σ² + 1e-6). [n, L, P] → [n, L, P].
 *
 * @example
 * normalizePatches(tf.tensor3d([[[0, 2]]])); // [[[-0.7071, 0.7071]]]
 */
export function normalizePatches(patches: tf.Tensor3D, epsilon = 1e-6): tf.Tensor3D {
  return tf.tidy(() => {
    const P = patches.shape[2];
    if (P < 2)
      throw new SslError(`MAE's normalised-pixel target needs at least 2 values per patch; got ${P}. Use larger patches or --set task.normPixLoss=false.`);
    const mean = tf.mean(patches, 2, true);
    const centred = tf.sub(patches, mean);
    const variance = tf.div(tf.sum(tf.square(centred), 2, true), P - 1);
    return tf.div(centred, tf.sqrt(tf.add(variance, epsilon))) as tf.Tensor3D;
  });
}

/**
 * MAE's loss: the mean squared error per patch (over its P values), averaged over the removed
 * patches only, Σ masked·mse / Σ masked. Predictions on visible patches carry no loss.
 *
 * @example
 * maeLoss(prediction, target, mask); // prediction, target [n, L, P]; mask [n, L], 1 = removed
 */
export function maeLoss(prediction: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const perPatch = tf.mean(tf.squaredDifference(prediction, target), 2);
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

/**
 * The ViT encoder of MAE on the visible patches only: the chosen patches (`select` [n, keep, L])
 * are embedded with the encoder's own patch embedding and positions, the class token prepended, and
 * the encoder's blocks run on these 1 + keep tokens. Returns the latent [n, 1 + keep, dim]; the
 * removed patches never enter the encoder.
 *
 * @example
 * const latent = maeEncode(vitParts(encoder), images, selectionMatrix(m.visible, n, m.keep, 49));
 */
export function maeEncode(vit: VitParts, images: tf.Tensor4D, select: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const patches = vit.patchify.apply(images) as tf.Tensor3D;
    // Pixels of the visible patches only (a one-hot product; no gradient needed through it).
    const visible = tf.matMul(select, patches);
    const tokens = vit.tokens.apply([vit.patchEmbed.apply(visible) as tf.Tensor, select]) as tf.Tensor3D;
    return vit.blocks.apply(tokens) as tf.Tensor3D;
  });
}

/**
 * MAE's decoder input: the embedded visible tokens [n, 1 + keep, d] put back at their patches
 * (`unshuffle` [n, L, keep], the transposed selection), the learned mask token at every removed
 * patch, fixed 2-D sine-cosine positions added to all: [n, 1 + L, d] (class token first).
 *
 * @example
 * const full = new MaeDecoderInput({ grid: [7, 7] }).apply([embedded, unshuffle]); // → [n, 50, d]
 */
export class MaeDecoderInput extends tf.layers.Layer {
  static className = 'SslMaeDecoderInput';
  readonly grid: [number, number];
  private readonly seed: number | undefined;
  private maskToken?: tf.LayerVariable;
  private positions?: tf.LayerVariable;

  constructor(args: { grid: [number, number]; seed?: number } & LayerArgs) {
    super(args);
    this.grid = [args.grid[0], args.grid[1]];
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = (inputShape as tf.Shape[])[0]!.at(-1)!;
    this.maskToken = this.addWeight('mask_token', [d], 'float32', tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.seed ?? 0 }));
    const L = this.grid[0] * this.grid[1];
    const table = new Float32Array((1 + L) * d);
    table.set(sinCosPositions2d(this.grid[0], this.grid[1], d), d);
    // Fixed (not trained), but a weight so it is saved and disposed with the decoder.
    this.positions = this.addWeight('positions', [1 + L, d], 'float32', tf.initializers.zeros(), undefined, false);
    tf.tidy(() => {
      this.positions!.write(tf.tensor2d(table, [1 + L, d]));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [tokens] = inputShape as tf.Shape[];
    return [tokens![0] ?? null, 1 + this.grid[0] * this.grid[1], tokens!.at(-1) ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [tokens, unshuffle] = inputs as [tf.Tensor3D, tf.Tensor3D];
      const [n, k1, d] = tokens.shape;
      const cls = tf.slice(tokens, [0, 0, 0], [n, 1, d]);
      const placed = tf.matMul(unshuffle, tf.slice(tokens, [0, 1, 0], [n, k1 - 1, d])); // [n, L, d]
      const removed = tf.sub(1, tf.sum(unshuffle, 2, true)); // [n, L, 1]: 1 where no visible token lands
      const patches = tf.add(placed, tf.mul(removed, this.maskToken!.read()));
      return tf.add(tf.concat([cls, patches], 1), this.positions!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), grid: this.grid, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(MaeDecoderInput);

/**
 * MAE's light decoder: latent tokens [n, 1 + keep, encoderDim] and the unshuffle matrix
 * [n, L, keep] → a linear embedding to `decoderDim`, mask tokens and positions
 * ({@link MaeDecoderInput}), transformer blocks, a layer norm and a linear map to each patch's
 * pixels: [n, 1 + L, patch² · channels] (row 0 is the class token's, unused).
 *
 * @example
 * const decoder = createMaeDecoder({ encoderDim: 64, grid: [7, 7], patchValues: 16, config: maeConfig.parse({}), seed: 0 });
 */
export function createMaeDecoder({
  encoderDim,
  grid,
  patchValues,
  config,
  seed,
}: {
  encoderDim: number;
  grid: [number, number];
  patchValues: number;
  config: MaeConfig;
  seed: number;
}): tf.LayersModel {
  const { decoderDim: dd, decoderDepth, decoderHeads } = config;
  if (dd % decoderHeads !== 0 || dd % 4 !== 0)
    throw new SslError(
      `MAE: decoderDim ${dd} must be a multiple of 4 (sine-cosine positions) and of decoderHeads ${decoderHeads}. Pick e.g. --set task.decoderDim=64.`,
    );
  const rng = Rng.derive(seed, 'mae-decoder');
  const latent = tf.input({ shape: [null, encoderDim], name: 'latent' });
  const unshuffle = tf.input({ shape: [grid[0] * grid[1], null], name: 'unshuffle' });
  let h = new TokenDense({ units: dd, seed: rng.seed(), name: 'decoder_embed' }).apply(latent) as Sym;
  h = new MaeDecoderInput({ grid, seed: rng.seed(), name: 'decoder_input' }).apply([h, unshuffle]) as Sym;
  h = createVitBlocks({ dim: dd, depth: decoderDepth, heads: decoderHeads, seed: rng.seed(), name: 'decoder_blocks', prefix: 'decoder_' }).apply(h) as Sym;
  const out = new TokenDense({ units: patchValues, seed: rng.seed(), name: 'decoder_pred' }).apply(h) as Sym;
  return tf.model({ inputs: [latent, unshuffle], outputs: out, name: 'mae_decoder' });
}

/** Mask tensors of one batch for the decoder and loss: selection [n, keep, L], its transpose, and the removed-patch mask [n, L]. */
function maskTensors(noise: tf.Tensor, numPatches: number, maskRatio: number): { select: tf.Tensor3D; unshuffle: tf.Tensor3D; mask: tf.Tensor2D } {
  const [n, stride] = noise.shape as [number, number];
  const m = patchMaskFromNoise(noise.dataSync() as Float32Array, n, stride, numPatches, maskRatio);
  const select = selectionMatrix(m.visible, n, m.keep, numPatches);
  return { select, unshuffle: tf.transpose(select, [0, 2, 1]), mask: tf.tensor2d(m.masked, [n, numPatches]) };
}

/** Predicted patches [n, L, P] of MAE (decoder output without the class row) and the patch pixels [n, L, P]. */
function maeForward(
  vit: VitParts,
  decoder: tf.LayersModel,
  images: tf.Tensor4D,
  select: tf.Tensor3D,
  unshuffle: tf.Tensor3D,
): { prediction: tf.Tensor3D; patches: tf.Tensor3D } {
  const latent = maeEncode(vit, images, select);
  const out = decoder.apply([latent, unshuffle]) as tf.Tensor3D;
  const [n, l1, P] = out.shape;
  return { prediction: tf.slice(out, [0, 1, 0], [n, l1 - 1, P]), patches: vit.patchify.apply(images) as tf.Tensor3D };
}

/** Puts patches [L, P] (row-major grid, each (y, x, c)) back into an H×W×C image. */
function unpatchify(patches: Float32Array, grid: [number, number], p: number, c: number): Float32Array {
  const [gh, gw] = grid;
  const w = gw * p;
  const img = new Float32Array(gh * p * w * c);
  for (let j = 0; j < gh * gw; j++) {
    const py = Math.floor(j / gw) * p;
    const px = (j % gw) * p;
    for (let y = 0; y < p; y++)
      for (let x = 0; x < p; x++) for (let ch = 0; ch < c; ch++) img[((py + y) * w + px + x) * c + ch] = patches[(j * p * p + y * p + x) * c + ch]!;
  }
  return img;
}

/**
 * Masked autoencoder (He et al., CVPR 2022) on a ViT: 75 % of the patches of each image are removed
 * at random; the encoder sees only the visible patches (with their positions and the class token);
 * a light transformer decoder gets the encoded visible tokens back at their places, a shared
 * learned mask token at every removed patch, and predicts the removed patches' pixels, with the mean
 * squared error on the removed patches only (target normalised per patch by default). The encoder's
 * pieces are read with `vitParts`, so training updates the same weights the probe reads; the probe
 * sees whole images through the ViT's pooled output. Needs `--encoder vit` (the default).
 *
 * @example
 * await train({ task: maeTask, encoder: createVit({ inputShape: [28, 28, 1], seed: 0 }), source });
 */
export const maeTask = definePretextTask({
  name: 'mae',
  family: 'context',
  group: 'masked image modelling',
  modality: 'image',
  title: 'Masked autoencoder (MAE)',
  paper: 'He, Chen, Xie, Li, Dollár, Girshick. Masked Autoencoders Are Scalable Vision Learners. CVPR 2022',
  description:
    'Masked image modelling: 75 % of the image patches are removed at random, a Vision Transformer encodes only the visible quarter, and a light decoder, given mask tokens at the removed places, predicts their pixels (normalised per patch by default), with the mean squared error on the removed patches only. With so much removed, the task cannot be solved by interpolating neighbours: the encoder has to model objects and their parts.',
  config: maeConfig,
  defaultEncoder: 'vit',
  // Paper: AdamW, lr 1.5e-4 × batch/256, weight decay 0.05, β2 0.95, 40-epoch warm-up, 800+ epochs; scaled to
  // minutes on 2 cores: 40,000 images × 4 epochs (2,500 steps). Chosen on Fashion-MNIST's validation split
  // (seed 0, ViT 4 × 64; docs/results/fashion-mnist-validation.md): the probe was 0.94 below the random-init
  // ViT at 312 steps, 3.34 above it at 1,250 and 5.36 above it at 2,500 (kNN +0.08, +8.80, +12.06).
  trainDefaults: { epochs: 4, batchSize: 64, lr: 1e-3, optimizer: 'adam', weightDecay: 0.05, limit: 40000 },
  createHeads: ({ config, inputShape, seed, encoder }) => {
    if (!encoder) throw new SslError('MAE builds its decoder from the ViT encoder; call createHeads with the encoder. Use --encoder vit.');
    const vit = vitParts(encoder, 'MAE');
    const channels = inputShape[2] ?? 1;
    visiblePatchCount(vit.grid[0] * vit.grid[1], config.maskRatio);
    return { decoder: createMaeDecoder({ encoderDim: vit.dim, grid: vit.grid, patchValues: vit.patch * vit.patch * channels, config, seed }) };
  },
  prepare: (raw, { rng }) => ({
    x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]),
    // MAE's noise: one uniform value per pixel position (at least one per patch, whatever the patch size);
    // the loss ranks the first L of each row. Drawn here so the step's generator fixes the mask.
    noise: tf.tensor2d(
      Float32Array.from({ length: raw.n * raw.height * raw.width }, () => rng.float()),
      [raw.n, raw.height * raw.width],
    ),
  }),
  loss: ({ config, encoder, heads, batch }) => {
    const vit = vitParts(encoder, 'MAE');
    const { select, unshuffle, mask } = maskTensors(batch.noise, vit.grid[0] * vit.grid[1], config.maskRatio);
    const { prediction, patches } = maeForward(vit, heads.decoder, batch.x, select, unshuffle);
    return maeLoss(prediction, config.normPixLoss ? normalizePatches(patches) : patches, mask);
  },
  reportImages: ({ config, encoder, heads, raw }) => {
    const vit = vitParts(encoder, 'MAE');
    const { n, height: h, width: w, channels: c } = raw;
    const L = vit.grid[0] * vit.grid[1];
    const P = vit.patch * vit.patch * c;
    const m = randomPatchMask(n, L, config.maskRatio, new Rng(0));
    const [pred, pix] = tf.tidy(() => {
      const select = selectionMatrix(m.visible, n, m.keep, L);
      const { prediction, patches } = maeForward(vit, heads.decoder, tf.tensor4d(raw.images, [n, h, w, c]), select, tf.transpose(select, [0, 2, 1]));
      if (!config.normPixLoss) return [prediction, patches];
      // Undo the per-patch normalisation with the true patch's statistics, as the authors' visualisation does.
      const mean = tf.mean(patches, 2, true);
      const std = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(tf.sub(patches, mean)), 2, true), P - 1), 1e-6));
      return [tf.add(tf.mul(prediction, std), mean), patches];
    });
    const predData = pred.dataSync() as Float32Array;
    const pixData = pix.dataSync() as Float32Array;
    tf.dispose([pred, pix]);
    const rows: Float32Array[][] = [[], [], []];
    for (let i = 0; i < n; i++) {
      const orig = pixData.subarray(i * L * P, (i + 1) * L * P);
      const masked = Float32Array.from(orig);
      const recon = Float32Array.from(orig);
      for (let j = 0; j < L; j++) {
        if (m.masked[i * L + j] !== 1) continue;
        masked.fill(0.5, j * P, (j + 1) * P);
        for (let k = j * P; k < (j + 1) * P; k++) recon[k] = Math.min(1, Math.max(0, predData[i * L * P + k]!));
      }
      rows[0]!.push(raw.images.slice(i * h * w * c, (i + 1) * h * w * c));
      rows[1]!.push(unpatchify(masked, vit.grid, vit.patch, c));
      rows[2]!.push(unpatchify(recon, vit.grid, vit.patch, c));
    }
    return [{ ...imageGrid(rows.flat(), n, h, w, c), caption: 'mae rows: originals, visible patches, reconstructions' }];
  },
});
