import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, showValue } from '@ssl/core';

/**
 * Options of {@link createSplitConvNet}.
 *
 * @example
 * const opts: SplitConvNetOptions = { inputShape: [32, 32, 3], groups: [[0], [1, 2]], seed: 0 };
 */
export interface SplitConvNetOptions {
  /** [height, width, channels] of one image. */
  inputShape: number[];
  /** Disjoint channel groups, one tower each (default [[0], [1, 2]]: L and ab of a Lab image). */
  groups?: number[][];
  /** Channels of each tower's conv blocks (default [16, 32, 64]: half the benchmark ConvNet). */
  widths?: number[];
  /** Fixes every initial weight. */
  seed: number;
}

/**
 * Layer names of tower `k` of a split encoder: its fixed channel selection and its last feature map.
 *
 * @example
 * encoder.getLayer(splitLayerNames(0).features); // tower 0's last ReLU
 */
export function splitLayerNames(k: number): { select: string; features: string } {
  return { select: `split${k}_select`, features: `split${k}_features` };
}

/**
 * A split-brain encoder (Zhang et al. 2017): one ConvNet tower per disjoint channel group, each
 * seeing only its channels (a fixed, non-trainable 1×1 selection), conv3×3-BN-ReLU blocks with
 * max-pooling between them, global average pooling; the features are the towers' concatenated.
 * Layers `split<k>_select` and `split<k>_features` (the last ReLU) let tasks reach each tower.
 *
 * @example
 * const enc = createSplitConvNet({ inputShape: [32, 32, 3], seed: 0 }); // [n,32,32,3] → [n,128] (64 from L, 64 from ab)
 */
export function createSplitConvNet({ inputShape, groups = [[0], [1, 2]], widths = [16, 32, 64], seed }: SplitConvNetOptions): tf.LayersModel {
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new SslError(`Invalid split-convnet inputShape: ${showValue(inputShape)}. Must be [height, width, channels] of positive integers, e.g. [32, 32, 3].`);
  }
  const channels = inputShape[2]!;
  const seen = new Set<number>();
  for (const g of groups) {
    for (const c of g) {
      if (!Number.isInteger(c) || c < 0 || c >= channels)
        throw new SslError(
          `split-convnet group channel ${showValue(c)} is not allowed; the input has channels 0..${channels - 1}. The default groups [[0], [1, 2]] (L | ab) need colour images; set encoder groups for other inputs.`,
        );
      if (seen.has(c)) throw new SslError(`split-convnet groups ${showValue(groups)} share channel ${c}; the groups must be disjoint.`);
      seen.add(c);
    }
  }
  if (groups.length < 2 || groups.some((g) => g.length === 0))
    throw new SslError(`split-convnet needs at least two non-empty channel groups; got ${showValue(groups)}, e.g. [[0], [1, 2]].`);
  const rng = Rng.derive(seed, 'encoder-init');
  const input = tf.input({ shape: inputShape });
  const selects: Array<{ layer: tf.layers.Layer; group: number[] }> = [];
  const pooled = groups.map((group, k) => {
    const names = splitLayerNames(k);
    const select = tf.layers.conv2d({ filters: group.length, kernelSize: 1, useBias: false, trainable: false, kernelInitializer: 'zeros', name: names.select });
    selects.push({ layer: select, group });
    let h = select.apply(input) as tf.SymbolicTensor;
    widths.forEach((w, i) => {
      h = tf.layers
        .conv2d({ filters: w, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: rng.seed() }) })
        .apply(h) as tf.SymbolicTensor;
      h = tf.layers.batchNormalization({ momentum: 0.9 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reLU(i === widths.length - 1 ? { name: names.features } : {}).apply(h) as tf.SymbolicTensor;
      if (i < widths.length - 1) h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(h) as tf.SymbolicTensor;
    });
    return tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  });
  const out = tf.layers.concatenate({ name: 'split_concat' }).apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'split_convnet' });
  // Each selection kernel is one-hot: output j = input channel group[j], exactly.
  for (const { layer, group } of selects) {
    const kernel = new Float32Array(channels * group.length);
    group.forEach((c, j) => (kernel[c * group.length + j] = 1));
    const t = tf.tensor4d(kernel, [1, 1, channels, group.length]);
    layer.setWeights([t]);
    t.dispose();
  }
  return model;
}

/**
 * The channel groups of a split encoder, read back from its selection kernels (in tower order).
 *
 * @example
 * splitGroups(createSplitConvNet({ inputShape: [32, 32, 3], seed: 0 })); // [[0], [1, 2]]
 */
export function splitGroups(encoder: tf.LayersModel): number[][] {
  const groups: number[][] = [];
  for (let k = 0; ; k++) {
    const layer = encoder.layers.find((l) => l.name === splitLayerNames(k).select);
    if (!layer) break;
    const [kernel] = layer.getWeights();
    const [, , inC, outC] = kernel!.shape as [number, number, number, number];
    const v = kernel!.dataSync();
    groups.push(Array.from({ length: outC }, (_, j) => Array.from({ length: inC }, (_, c) => c).find((c) => v[c * outC + j] === 1) ?? -1));
  }
  return groups;
}
