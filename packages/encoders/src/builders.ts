import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, showValue } from '@ssl/core';
import { batchNormalization } from './batch-norm';

type Sym = tf.SymbolicTensor;
type Initializer = ReturnType<typeof tf.initializers.heNormal>;

// Keras' default BN momentum (0.99) needs thousands of steps before the moving statistics are
// usable; our runs are a few hundred steps, so inference-mode features would be garbage.
const BN_MOMENTUM = 0.9;

/**
 * Hands out initialiser seeds derived from one seed, in layer-construction order, so one seed
 * fixes every weight. tfjs initialisers without a seed draw from Math.random.
 */
class SeedStream {
  private readonly rng: Rng;
  constructor(seed: number, model: string) {
    if (!Number.isInteger(seed)) throw new SslError(`Invalid ${model} seed: ${showValue(seed)}. Must be an integer. Pass e.g. { seed: 0 }.`);
    this.rng = Rng.derive(seed, 'encoder-init');
  }
  he(): Initializer {
    return tf.initializers.heNormal({ seed: this.rng.seed() });
  }
  glorot(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.rng.seed() });
  }
}

function checkImageShape(model: string, inputShape: readonly number[]): void {
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new SslError(`Invalid ${model} inputShape: ${showValue(inputShape)}. Must be [height, width, channels] of positive integers, e.g. [28, 28, 1].`);
  }
}

function apply(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

/**
 * Options of {@link createMlp}.
 *
 * @example
 * const opts: MlpOptions = { inputShape: [784], hidden: [256], seed: 0 };
 */
export interface MlpOptions {
  /** Shape of one example; anything of rank > 1 is flattened first. */
  inputShape: number[];
  /** Sizes of the hidden Dense-ReLU layers. */
  hidden?: number[];
  /** Size of the feature vector. */
  outputDim?: number;
  /** Fixes every initial weight. */
  seed: number;
}

/**
 * A multilayer perceptron encoder: flatten → Dense-ReLU per `hidden` size → Dense(outputDim).
 *
 * @example
 * const enc = createMlp({ inputShape: [28, 28, 1], hidden: [256], outputDim: 64, seed: 0 }); // [n,28,28,1] → [n,64]
 */
export function createMlp({ inputShape, hidden = [512, 256], outputDim = 128, seed }: MlpOptions): tf.LayersModel {
  const seeds = new SeedStream(seed, 'mlp');
  const input = tf.input({ shape: inputShape });
  let h: Sym = inputShape.length > 1 ? apply(tf.layers.flatten(), input) : input;
  for (const units of hidden) h = apply(tf.layers.dense({ units, activation: 'relu', kernelInitializer: seeds.he() }), h);
  // Linear output: the pretext heads and probes decide what non-linearity (if any) follows.
  const out = apply(tf.layers.dense({ units: outputDim, kernelInitializer: seeds.glorot() }), h);
  return tf.model({ inputs: input, outputs: out, name: 'mlp' });
}

/**
 * Options of {@link createConvNet}.
 *
 * @example
 * const opts: ConvNetOptions = { inputShape: [32, 32, 3], seed: 1 };
 */
export interface ConvNetOptions {
  /** [height, width, channels] of one image. */
  inputShape?: number[];
  /** Channels of each conv block; the last one is the feature size. */
  widths?: number[];
  /** Fixes every initial weight. */
  seed: number;
}

function convBnRelu(x: Sym, filters: number, seeds: SeedStream, strides = 1): Sym {
  // No conv bias: the following BatchNorm's beta does the same job.
  const h = apply(tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: seeds.he() }), x);
  return apply(tf.layers.reLU(), apply(batchNormalization({ momentum: BN_MOMENTUM }), h));
}

/**
 * The benchmark ConvNet: conv3×3 32-BN-ReLU-maxpool2 → conv3×3 64-BN-ReLU-maxpool2 →
 * conv3×3 128-BN-ReLU → global average pool → 128-d features.
 *
 * @example
 * const enc = createConvNet({ inputShape: [28, 28, 1], seed: 0 }); // [n,28,28,1] → [n,128]
 */
export function createConvNet({ inputShape = [28, 28, 1], widths = [32, 64, 128], seed }: ConvNetOptions): tf.LayersModel {
  checkImageShape('convnet', inputShape);
  const seeds = new SeedStream(seed, 'convnet');
  const input = tf.input({ shape: inputShape });
  let h: Sym = input;
  widths.forEach((w, i) => {
    h = convBnRelu(h, w, seeds);
    // No pool after the last block: global average pooling follows.
    if (i < widths.length - 1) h = apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }), h);
  });
  h = apply(tf.layers.globalAveragePooling2d({}), h);
  return tf.model({ inputs: input, outputs: h, name: 'convnet' });
}

/**
 * Options of {@link createResNet18Small}.
 *
 * @example
 * const opts: ResNetOptions = { width: 0.5, seed: 0 }; // widths [32, 64, 128, 256]
 */
export interface ResNetOptions {
  /** [height, width, channels] of one image. */
  inputShape?: number[];
  /** Channels of the four stages; the last one is the feature size. */
  widths?: number[];
  /** Multiplies every entry of `widths` (e.g. 0.25 for a quick model); at least 1 channel. */
  width?: number;
  /** Fixes every initial weight. */
  seed: number;
}

function basicBlock(x: Sym, filters: number, strides: number, seeds: SeedStream): Sym {
  const inChannels = x.shape[x.shape.length - 1];
  let h = convBnRelu(x, filters, seeds, strides);
  h = apply(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: seeds.he() }), h);
  h = apply(batchNormalization({ momentum: BN_MOMENTUM }), h);
  let shortcut = x;
  // A 1×1 projection only where the shape changes; identity elsewhere, as in He et al. (option B).
  if (strides !== 1 || inChannels !== filters) {
    shortcut = apply(tf.layers.conv2d({ filters, kernelSize: 1, strides, useBias: false, kernelInitializer: seeds.he() }), x);
    shortcut = apply(batchNormalization({ momentum: BN_MOMENTUM }), shortcut);
  }
  return apply(tf.layers.reLU(), apply(tf.layers.add(), [h, shortcut]));
}

/**
 * A CIFAR-style ResNet-18: 3×3 stem (no max-pool), four stages of two basic blocks, stride 2
 * at stages 2–4, 1×1 projection shortcuts, global average pool → widths[3]-d features.
 *
 * @example
 * const enc = createResNet18Small({ inputShape: [32, 32, 3], width: 0.25, seed: 0 }); // [n,32,32,3] → [n,128]
 */
export function createResNet18Small({ inputShape = [32, 32, 3], widths = [64, 128, 256, 512], width = 1, seed }: ResNetOptions): tf.LayersModel {
  checkImageShape('resnet18', inputShape);
  if (widths.length !== 4) throw new SslError(`Invalid resnet18 widths: ${showValue(widths)}. Must list 4 stage widths, e.g. [64, 128, 256, 512].`);
  if (!(width > 0)) throw new SslError(`Invalid resnet18 width: ${showValue(width)}. Must be a multiplier > 0, e.g. 0.25.`);
  const stages = widths.map((w) => Math.max(1, Math.round(w * width)));
  const seeds = new SeedStream(seed, 'resnet18');
  const input = tf.input({ shape: inputShape });
  // 3×3 stride-1 stem without max-pool: 32×32 inputs would otherwise shrink to 1×1 by stage 4.
  let h = convBnRelu(input, stages[0]!, seeds);
  stages.forEach((w, stage) => {
    h = basicBlock(h, w, stage === 0 ? 1 : 2, seeds);
    h = basicBlock(h, w, 1, seeds);
  });
  h = apply(tf.layers.globalAveragePooling2d({}), h);
  return tf.model({ inputs: input, outputs: h, name: 'resnet18' });
}

/**
 * Size of an encoder's feature vector (the last dimension of its first output).
 *
 * @example
 * featureDim(createConvNet({ seed: 0 })); // 128
 */
export function featureDim(model: tf.LayersModel): number {
  const out = model.outputs[0];
  const d = out?.shape[out.shape.length - 1];
  if (typeof d !== 'number')
    throw new SslError(
      `Cannot read the feature size of model "${model.name}": output shape ${showValue(out?.shape)}. An encoder must output [batch, featureDim].`,
    );
  return d;
}
