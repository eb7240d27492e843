import * as tf from '@tensorflow/tfjs';
import { Rng } from '@ssl/core';

type Sym = tf.SymbolicTensor;

/** Hands out per-layer initialiser seeds derived from one seed, so a seed fixes every weight. */
class SeedStream {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = Rng.derive(seed, 'encoder-init');
  }
  he() {
    return tf.initializers.heNormal({ seed: this.rng.seed() });
  }
  glorot() {
    return tf.initializers.glorotUniform({ seed: this.rng.seed() });
  }
}

/** Options of {@link createMlp}. */
export interface MlpOptions {
  inputShape: number[];
  hidden?: number[];
  outputDim?: number;
  seed?: number;
}

/**
 * A multilayer perceptron encoder: flatten → Dense-ReLU layers → Dense(outputDim).
 *
 * @example
 * const enc = createMlp({ inputShape: [28, 28, 1], hidden: [256], outputDim: 64, seed: 0 });
 */
export function createMlp({ inputShape, hidden = [512, 256], outputDim = 128, seed = 0 }: MlpOptions): tf.LayersModel {
  const seeds = new SeedStream(seed);
  const input = tf.input({ shape: inputShape });
  let h = (inputShape.length > 1 ? tf.layers.flatten().apply(input) : input) as Sym;
  for (const units of hidden) h = tf.layers.dense({ units, activation: 'relu', kernelInitializer: seeds.he() }).apply(h) as Sym;
  const out = tf.layers.dense({ units: outputDim, kernelInitializer: seeds.glorot() }).apply(h) as Sym;
  return tf.model({ inputs: input, outputs: out, name: 'mlp' });
}

/** Options of {@link createConvNet}. */
export interface ConvNetOptions {
  inputShape?: number[];
  widths?: number[];
  seed?: number;
}

function convBnRelu(x: Sym, filters: number, seeds: SeedStream, strides = 1): Sym {
  let h = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: seeds.he() }).apply(x) as Sym;
  h = tf.layers.batchNormalization({ momentum: 0.9 }).apply(h) as Sym;
  return tf.layers.reLU().apply(h) as Sym;
}

/**
 * The benchmark ConvNet: conv3×3 32-BN-ReLU-maxpool2 → conv3×3 64-BN-ReLU-maxpool2 →
 * conv3×3 128-BN-ReLU → global average pool → 128-d features.
 *
 * @example
 * const enc = createConvNet({ inputShape: [28, 28, 1], seed: 0 }); // [n,28,28,1] → [n,128]
 */
export function createConvNet({ inputShape = [28, 28, 1], widths = [32, 64, 128], seed = 0 }: ConvNetOptions = {}): tf.LayersModel {
  const seeds = new SeedStream(seed);
  const input = tf.input({ shape: inputShape });
  let h = input as Sym;
  widths.forEach((w, i) => {
    h = convBnRelu(h, w, seeds);
    if (i < widths.length - 1) h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(h) as Sym;
  });
  h = tf.layers.globalAveragePooling2d({}).apply(h) as Sym;
  return tf.model({ inputs: input, outputs: h, name: 'convnet' });
}

/** Options of {@link createResNet18Small}. */
export interface ResNetOptions {
  inputShape?: number[];
  widths?: number[];
  seed?: number;
}

function basicBlock(x: Sym, filters: number, strides: number, seeds: SeedStream): Sym {
  const inChannels = x.shape[x.shape.length - 1];
  let h = convBnRelu(x, filters, seeds, strides);
  h = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: seeds.he() }).apply(h) as Sym;
  h = tf.layers.batchNormalization({ momentum: 0.9 }).apply(h) as Sym;
  let shortcut = x;
  if (strides !== 1 || inChannels !== filters) {
    shortcut = tf.layers.conv2d({ filters, kernelSize: 1, strides, useBias: false, kernelInitializer: seeds.he() }).apply(x) as Sym;
    shortcut = tf.layers.batchNormalization({ momentum: 0.9 }).apply(shortcut) as Sym;
  }
  return tf.layers.reLU().apply(tf.layers.add().apply([h, shortcut]) as Sym) as Sym;
}

/**
 * A CIFAR-style ResNet-18: 3×3 stem (no max-pool), four stages of two basic blocks, stride 2
 * at stages 2–4, 1×1 projection shortcuts, global average pool.
 *
 * @example
 * const enc = createResNet18Small({ inputShape: [32, 32, 3], widths: [16, 32, 64, 128], seed: 0 });
 */
export function createResNet18Small({ inputShape = [32, 32, 3], widths = [64, 128, 256, 512], seed = 0 }: ResNetOptions = {}): tf.LayersModel {
  const seeds = new SeedStream(seed);
  const input = tf.input({ shape: inputShape });
  let h = convBnRelu(input, widths[0]!, seeds);
  widths.forEach((w, stage) => {
    h = basicBlock(h, w, stage === 0 ? 1 : 2, seeds);
    h = basicBlock(h, w, 1, seeds);
  });
  h = tf.layers.globalAveragePooling2d({}).apply(h) as Sym;
  return tf.model({ inputs: input, outputs: h, name: 'resnet18' });
}

/** Size of an encoder's feature vector. */
export function featureDim(model: tf.LayersModel): number {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] ?? 0;
}
