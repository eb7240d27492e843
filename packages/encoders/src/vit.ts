import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, showValue } from '@ssl/core';
import { matMulPlainGrads } from './ops';
import { LayerNorm, TokenDense, transformerBlock } from './transformer';

type Sym = tf.SymbolicTensor;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** Names of the ViT's layers that masked image modelling reads (see {@link vitParts}). */
export const VIT_LAYERS = { patchify: 'patchify', patchEmbed: 'patch_embed', tokens: 'vit_tokens', blocks: 'vit_blocks', pool: 'vit_pool' } as const;

const first = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);
const shapeOf = (s: tf.Shape | tf.Shape[], i = 0): tf.Shape => (Array.isArray(s[0]) ? (s as tf.Shape[])[i]! : (s as tf.Shape));

/**
 * Cuts images into non-overlapping `patch`×`patch` squares, row by row: [n, H, W, C] → [n, (H/p)(W/p), p·p·C],
 * each patch flattened as (row, column, channel). No weights; a TokenDense after it is the ViT's
 * patch embedding (the same map as a conv with kernel = stride = patch).
 *
 * @example
 * const patches = new Patchify({ patch: 4 }).apply(images); // [n, 28, 28, 1] → [n, 49, 16]
 */
export class Patchify extends tf.layers.Layer {
  static className = 'SslPatchify';
  readonly patch: number;

  constructor(args: { patch: number } & LayerArgs) {
    super(args);
    if (!Number.isInteger(args.patch) || args.patch < 1) throw new SslError(`Invalid patch size ${showValue(args.patch)}. Must be a positive integer, e.g. 4.`);
    this.patch = args.patch;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = shapeOf(inputShape);
    const p = this.patch;
    return [n ?? null, h && w ? (h / p) * (w / p) : null, c ? p * p * c : null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      const p = this.patch;
      if (h % p !== 0 || w % p !== 0)
        throw new SslError(`Patchify got ${h}×${w} images that ${p}-px patches do not tile. Pick a patch size dividing both sides.`);
      // Rank-4 transposes only (the wasm backend's): [n·gh, p, gw, p·c] → [n·gh, gw, p, p·c].
      const t = tf.transpose(tf.reshape(x, [n * (h / p), p, w / p, p * c]), [0, 2, 1, 3]);
      return tf.reshape(t, [n, (h / p) * (w / p), p * p * c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), patch: this.patch };
  }
}
tf.serialization.registerClass(Patchify);

/**
 * Fixed 2-D sine-cosine position embeddings (as MAE's), [gh·gw, dim] in row-major patch order:
 * the first half of the channels encodes the row, the second half the column, each as dim/4 sines
 * then dim/4 cosines of the position times 1/10000^(k/(dim/4)). `dim` must be a multiple of 4.
 *
 * @example
 * sinCosPositions2d(7, 7, 64); // Float32Array of 49 × 64
 */
export function sinCosPositions2d(gh: number, gw: number, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim % 4 !== 0)
    throw new SslError(`Sine-cosine position embeddings need a width divisible by 4; got ${showValue(dim)}. Pick dim a multiple of 4 or positions "learned".`);
  const q = dim / 4;
  const out = new Float32Array(gh * gw * dim);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const row = (y * gw + x) * dim;
      for (let k = 0; k < q; k++) {
        const omega = 1 / 10000 ** (k / q);
        out[row + k] = Math.sin(y * omega);
        out[row + q + k] = Math.cos(y * omega);
        out[row + 2 * q + k] = Math.sin(x * omega);
        out[row + 3 * q + k] = Math.cos(x * omega);
      }
    }
  }
  return out;
}

/**
 * Bilinear interpolation weights from a `from` grid of positions to a `to` grid (half-pixel centres,
 * edges clamped), as a row-major [to rows · to cols, from rows · from cols] matrix: its product with a
 * position table resizes it. The identity when the grids match.
 *
 * @example
 * positionResizeMatrix([2, 2], [1, 1]); // [[0.25, 0.25, 0.25, 0.25]]
 */
export function positionResizeMatrix(from: [number, number], to: [number, number]): Float32Array {
  const [fh, fw] = from;
  const [th, tw] = to;
  const axis = (f: number, t: number) =>
    Array.from({ length: t }, (_, i) => {
      const src = Math.min(Math.max((i + 0.5) * (f / t) - 0.5, 0), f - 1);
      const lo = Math.floor(src);
      const hi = Math.min(lo + 1, f - 1);
      return { lo, hi, w: src - lo };
    });
  const ys = axis(fh, th);
  const xs = axis(fw, tw);
  const m = new Float32Array(th * tw * fh * fw);
  ys.forEach((y, i) =>
    xs.forEach((x, j) => {
      const row = (i * tw + j) * fh * fw;
      for (const [yy, wy] of [
        [y.lo, 1 - y.w],
        [y.hi, y.w],
      ] as const)
        for (const [xx, wx] of [
          [x.lo, 1 - x.w],
          [x.hi, x.w],
        ] as const)
          m[row + yy * fw + xx]! += wy * wx;
    }),
  );
  return m;
}

interface VitTokensArgs {
  grid: [number, number];
  positions: 'sincos' | 'learned';
  seed?: number;
}

/**
 * Prepends the learned class token and adds position embeddings to patch embeddings:
 * [n, L, d] → [n, 1 + L, d]. Given [x [n, k, d], select [n, k, L]] (rows one-hot: which patch each
 * of the k tokens is), only those k patches' positions are added, so a subset of the patches (MAE's
 * visible ones) is embedded with the same weights. Positions are fixed 2-D sine-cosine (class
 * token: zeros) or learned.
 *
 * @example
 * const tokens = new VitTokens({ grid: [7, 7], positions: 'sincos' }).apply(embedded); // [n, 49, 64] → [n, 50, 64]
 */
export class VitTokens extends tf.layers.Layer {
  static className = 'SslVitTokens';
  readonly grid: [number, number];
  readonly positions: 'sincos' | 'learned';
  private readonly seed: number | undefined;
  private cls?: tf.LayerVariable;
  private pos?: tf.LayerVariable;

  constructor(args: VitTokensArgs & LayerArgs) {
    super(args);
    if (args.positions !== 'sincos' && args.positions !== 'learned')
      throw new SslError(`Invalid ViT positions ${showValue(args.positions)}. Must be "sincos" or "learned".`);
    this.grid = [args.grid[0], args.grid[1]];
    this.positions = args.positions;
    this.seed = args.seed;
  }

  /** Number of patches L = rows × columns of the grid. */
  get numPatches(): number {
    return this.grid[0] * this.grid[1];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = shapeOf(inputShape).at(-1)!;
    const rng = new Rng(this.seed ?? 0);
    // ViT/MAE initialiser for the class token (and learned positions): N(0, 0.02²).
    this.cls = this.addWeight('class_token', [1, d], 'float32', tf.initializers.truncatedNormal({ stddev: 0.02, seed: rng.seed() }));
    const learned = this.positions === 'learned';
    this.pos = this.addWeight(
      'positions',
      [1 + this.numPatches, d],
      'float32',
      learned ? tf.initializers.truncatedNormal({ stddev: 0.02, seed: rng.seed() }) : tf.initializers.zeros(),
      undefined,
      learned,
    );
    if (!learned) {
      const table = new Float32Array((1 + this.numPatches) * d);
      table.set(sinCosPositions2d(this.grid[0], this.grid[1], d), d);
      tf.tidy(() => {
        this.pos!.write(tf.tensor2d(table, [1 + this.numPatches, d]));
      });
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, k, d] = shapeOf(inputShape);
    return [n ?? null, k === null || k === undefined ? null : k + 1, d ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, select] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor3D, tf.Tensor3D | undefined];
      const [n, k, d] = x.shape;
      const L = this.numPatches;
      const table = this.pos!.read() as tf.Tensor2D;
      const patchPos = tf.slice(table, [1, 0], [L, d]) as tf.Tensor2D;
      let pos: tf.Tensor;
      if (select) {
        if (select.shape[0] !== n || select.shape[1] !== k || select.shape[2] !== L)
          throw new SslError(`VitTokens: the selection must be [${n}, ${k}, ${L}] (one-hot rows over the ${L} patches); got [${select.shape.join(', ')}].`);
        // A one-hot matrix product (plain-gradient matMul) instead of a gather: cheap and fast on wasm.
        pos = tf.reshape(matMulPlainGrads(tf.reshape(select, [n * k, L]) as tf.Tensor2D, patchPos), [n, k, d]);
      } else if (k === L) {
        pos = patchPos;
      } else {
        // Another resolution (e.g. DINO's local crops): the position grid resized bilinearly, as DINO
        // interpolates its position embeddings; the grid keeps the built aspect ratio.
        const [gh, gw] = this.grid;
        const rows = Math.round(Math.sqrt((k * gh) / gw));
        const cols = Math.round(k / rows);
        if (rows * cols !== k || rows * gw !== cols * gh)
          throw new SslError(
            `VitTokens: got ${k} patch tokens, which is no grid of the ${gh}×${gw} aspect ratio the ViT was built for. Feed images with the same aspect ratio and sides divisible by the patch size.`,
          );
        pos = matMulPlainGrads(tf.tensor2d(positionResizeMatrix([gh, gw], [rows, cols]), [k, L]), patchPos);
      }
      const clsRow = tf.add(this.cls!.read(), tf.slice(table, [0, 0], [1, d]));
      const clsTokens = tf.add(tf.zeros([n, 1, d]), tf.reshape(clsRow, [1, 1, d]));
      return tf.concat([clsTokens, tf.add(x, pos)], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), grid: this.grid, positions: this.positions, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(VitTokens);

/**
 * The ViT's feature vector from its tokens [n, 1 + L, d]: the class token (`cls`) or the mean of
 * the L patch tokens (`mean`, the class token left out, as MAE's global pooling). Output [n, d].
 *
 * @example
 * const f = new VitPooling({ mode: 'mean' }).apply(tokens); // [n, 50, 64] → [n, 64]
 */
export class VitPooling extends tf.layers.Layer {
  static className = 'SslVitPooling';
  readonly mode: 'cls' | 'mean';

  constructor(args: { mode: 'cls' | 'mean' } & LayerArgs) {
    super(args);
    if (args.mode !== 'cls' && args.mode !== 'mean') throw new SslError(`Invalid ViT pooling ${showValue(args.mode)}. Must be "cls" or "mean".`);
    this.mode = args.mode;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = shapeOf(inputShape);
    return [s[0] ?? null, s[2] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const h = first(inputs) as tf.Tensor3D;
      const [n, len, d] = h.shape;
      if (this.mode === 'cls') return tf.reshape(tf.slice(h, [0, 0, 0], [n, 1, d]), [n, d]);
      return tf.mean(tf.slice(h, [0, 1, 0], [n, len - 1, d]), 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
tf.serialization.registerClass(VitPooling);

/**
 * Options of {@link createVitBlocks}.
 *
 * @example
 * const opts: VitBlocksOptions = { dim: 64, depth: 4, heads: 4, seed: 0 };
 */
export interface VitBlocksOptions {
  /** Token width. */
  dim: number;
  /** Number of pre-LN transformer blocks. */
  depth: number;
  /** Attention heads (must divide dim). */
  heads: number;
  /** MLP hidden width as a multiple of dim; default 4. */
  mlpRatio?: number;
  /** Fixes every initial weight. */
  seed: number;
  /** Model name; default `vit_blocks`. */
  name?: string;
  /** Prefix of the layer names; default none. */
  prefix?: string;
}

/**
 * A stack of the transformer's pre-LN blocks ({@link transformerBlock}, no padding mask) and a final
 * layer norm, as a model on token sequences of ANY length: [n, k, dim] → [n, k, dim]. The ViT uses it
 * on all its tokens; MAE applies the same model (the same weights) to the visible tokens only, and
 * builds its decoder with it.
 *
 * @example
 * const blocks = createVitBlocks({ dim: 64, depth: 2, heads: 4, seed: 0 });
 * const y = blocks.apply(tokens) as tf.Tensor3D; // [n, 13, 64] → [n, 13, 64]
 */
export function createVitBlocks({ dim, depth, heads, mlpRatio = 4, seed, name = VIT_LAYERS.blocks, prefix = '' }: VitBlocksOptions): tf.LayersModel {
  const rng = Rng.derive(seed, 'vit-blocks');
  const input = tf.input({ shape: [null, dim], name: `${name}_tokens` });
  let h: Sym = input;
  for (let i = 0; i < depth; i++) h = transformerBlock(h, undefined, { index: i, heads, mlpRatio, rng, prefix });
  h = new LayerNorm({ name: `${prefix}final_norm` }).apply(h) as Sym;
  return tf.model({ inputs: input, outputs: h, name });
}

/**
 * Options of {@link createVit}.
 *
 * @example
 * const opts: VitOptions = { inputShape: [32, 32, 3], patch: 4, dim: 64, seed: 0 };
 */
export interface VitOptions {
  /** [height, width, channels] of one image; both sides divisible by `patch`. */
  inputShape: number[];
  /** Side of the square patches; default 4. */
  patch?: number;
  /** Token width; default 64. */
  dim?: number;
  /** Transformer blocks; default 4. */
  depth?: number;
  /** Attention heads; default 4 (must divide dim). */
  heads?: number;
  /** MLP hidden width as a multiple of dim; default 4. */
  mlpRatio?: number;
  /** Position embeddings: fixed 2-D sine-cosine (MAE's) or learned; default sincos. */
  positions?: 'sincos' | 'learned';
  /** Feature vector: mean of the patch tokens, or the class token; default mean. */
  pooling?: 'mean' | 'cls';
  /** Fixes every initial weight. */
  seed: number;
}

/**
 * A small Vision Transformer (Dosovitskiy et al. 2021): the image cut into patches
 * ({@link Patchify}), a linear patch embedding, a class token and position embeddings
 * ({@link VitTokens}), pre-LN transformer blocks with a final layer norm ({@link createVitBlocks}),
 * and pooling to [n, dim] ({@link VitPooling}; default the mean of the patch tokens, which MAE's
 * authors also use for their fine-tuned features). An ordinary encoder: images [n, H, W, C] in,
 * features out; MAE reads its pieces by name with {@link vitParts}. Applied to images of another size
 * with the same aspect ratio (DINO's local crops), its position embeddings are resized bilinearly.
 *
 * @example
 * const vit = createVit({ inputShape: [28, 28, 1], seed: 0 }); // [n, 28, 28, 1] → [n, 64], 49 patches of 4×4
 */
export function createVit({
  inputShape,
  patch = 4,
  dim = 64,
  depth = 4,
  heads = 4,
  mlpRatio = 4,
  positions = 'sincos',
  pooling = 'mean',
  seed,
}: VitOptions): tf.LayersModel {
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new SslError(
      `Invalid vit inputShape: ${showValue(inputShape)}. Must be [height, width, channels] of positive integers, e.g. [28, 28, 1]; the ViT takes image datasets.`,
    );
  }
  const [h, w] = inputShape as [number, number, number];
  if (h % patch !== 0 || w % patch !== 0)
    throw new SslError(`Invalid vit patch ${patch} for ${h}×${w} images: it must divide both sides. Pick e.g. --set encoder.patch=4 (28, 32 px) or 2.`);
  if (dim % heads !== 0) throw new SslError(`Invalid vit dim ${dim} for ${heads} heads: dim must be a multiple of heads (e.g. dim 64, heads 4).`);
  if (!Number.isInteger(seed)) throw new SslError(`Invalid vit seed: ${showValue(seed)}. Must be an integer.`);
  const rng = Rng.derive(seed, 'encoder-init');
  const input = tf.input({ shape: inputShape });
  const ap = (layer: tf.layers.Layer | tf.LayersModel, x: Sym | Sym[]) => layer.apply(x) as Sym;
  let t = ap(new Patchify({ patch, name: VIT_LAYERS.patchify }), input);
  t = ap(new TokenDense({ units: dim, seed: rng.seed(), name: VIT_LAYERS.patchEmbed }), t);
  t = ap(new VitTokens({ grid: [h / patch, w / patch], positions, seed: rng.seed(), name: VIT_LAYERS.tokens }), t);
  t = ap(createVitBlocks({ dim, depth, heads, mlpRatio, seed: rng.seed() }), t);
  const out = ap(new VitPooling({ mode: pooling, name: VIT_LAYERS.pool }), t);
  return tf.model({ inputs: input, outputs: out, name: 'vit' });
}

/**
 * The pieces of a ViT encoder built by {@link createVit} (or loaded from one), sharing its weights.
 *
 * @example
 * const { patchify, patchEmbed, tokens, blocks } = vitParts(encoder);
 */
export interface VitParts {
  patchify: Patchify;
  patchEmbed: TokenDense;
  tokens: VitTokens;
  /** Blocks + final layer norm, for token sequences of any length. */
  blocks: tf.LayersModel;
  /** Patch side in pixels. */
  patch: number;
  /** Patch grid [rows, columns]. */
  grid: [number, number];
  /** Token width. */
  dim: number;
}

/**
 * Reads the named pieces of a ViT encoder so a method can run it on a subset of the patches with the
 * encoder's own weights: patch embedding of the chosen patches, `tokens.apply([x, select])`, then
 * `blocks.apply(...)`. Throws a one-line error naming `--encoder vit` for any other encoder.
 *
 * @example
 * const vit = vitParts(encoder);
 * const latent = vit.blocks.apply(vit.tokens.apply([vit.patchEmbed.apply(visible), select])) as tf.Tensor3D;
 */
export function vitParts(encoder: tf.LayersModel, method = 'This method'): VitParts {
  const get = (name: string) => encoder.layers.find((l) => l.name === name);
  const patchify = get(VIT_LAYERS.patchify);
  const patchEmbed = get(VIT_LAYERS.patchEmbed);
  const tokens = get(VIT_LAYERS.tokens);
  const blocks = get(VIT_LAYERS.blocks);
  if (!(patchify instanceof Patchify) || !(patchEmbed instanceof TokenDense) || !(tokens instanceof VitTokens) || !(blocks instanceof tf.LayersModel)) {
    throw new SslError(`${method} needs a ViT encoder (patch tokens), but encoder "${encoder.name}" is not one. Use --encoder vit.`);
  }
  return { patchify, patchEmbed, tokens, blocks, patch: patchify.patch, grid: tokens.grid, dim: patchEmbed.units };
}
