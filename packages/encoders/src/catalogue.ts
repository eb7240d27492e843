import type * as tf from '@tensorflow/tfjs';
import { NamedRegistry, SslError, parseWith, type EncoderInputs } from '@ssl/core';
import { z } from 'zod';
import { createBagOfEmbeddings } from './bag-of-embeddings';
import { createConvNet, createMlp, createResNet18Small } from './builders';
import { createTransformer } from './transformer';
import { createGcn } from './gcn';
import { createSplitConvNet } from './split';
import { createVit } from './vit';

/**
 * One catalogue entry: a zod config (defaults filled in) and the factory it feeds.
 *
 * @example
 * const spec: EncoderSpec = ENCODERS.mlp;
 * const enc = spec.create(spec.config.parse({ outputDim: 32 }), [784], 0);
 */
export interface EncoderSpec<S extends z.AnyZodObject = z.AnyZodObject> {
  /** The `--encoder` name. */
  name: string;
  /** Brand for registries. */
  kind: 'encoder';
  /** One line for `ssl list` and the docs. */
  description: string;
  /** Validates the user's config; its defaults are the documented architecture. */
  config: S;
  /**
   * Builds the encoder from a parsed config; `seed` fixes every initial weight. Method syntax on
   * purpose: its bivariant parameter lets every entry widen to `EncoderSpec` without a cast.
   */
  create(config: z.output<S>, inputShape: number[], seed: number, inputs?: EncoderInputs): tf.LayersModel;
}

/**
 * Defines an encoder a registry (and `--plugin`) can add: name, zod config, factory. The factory
 * gets the dataset's {@link EncoderInputs} (vocabulary size, graph) when it needs them.
 *
 * @example
 * export const tiny = defineEncoder({ name: 'tiny', description: 'One dense layer.', config: z.object({}).strict(),
 *   create: (_c, inputShape, seed) => createMlp({ inputShape, hidden: [], outputDim: 16, seed }) });
 */
export function defineEncoder<S extends z.AnyZodObject>(spec: Omit<EncoderSpec<S>, 'kind'>): EncoderSpec<S> {
  return Object.freeze({ ...spec, kind: 'encoder' as const });
}

const widthList = (d: number[], exactly?: number) => {
  const list = z.array(z.number().int().min(1).max(4096)).min(1);
  return (exactly === undefined ? list : list.length(exactly)).default(d);
};

/**
 * Encoders by name, each with a strict zod config (defaults filled in) and a factory; the
 * CLI's `--encoder` and `--set encoder.*` read it.
 *
 * @example
 * const cfg = ENCODERS.convnet.config.parse({});              // { widths: [32, 64, 128] }
 * const enc = ENCODERS.convnet.create(cfg, [28, 28, 1], 0);
 */
export const ENCODERS = {
  mlp: defineEncoder({
    name: 'mlp',
    description: 'Multilayer perceptron on flattened inputs.',
    config: z
      .object({
        hidden: widthList([512, 256]).describe('hidden layer sizes'),
        outputDim: z.number().int().min(1).max(65536).default(128).describe('feature size'),
      })
      .strict(),
    create: (c, inputShape, seed) => createMlp({ inputShape, hidden: c.hidden, outputDim: c.outputDim, seed }),
  }),
  convnet: defineEncoder({
    name: 'convnet',
    description: 'Benchmark ConvNet: 3 conv3×3-BN-ReLU blocks (32, 64, 128) with max-pooling, global average pool.',
    config: z.object({ widths: widthList([32, 64, 128]).describe('channels of the conv blocks') }).strict(),
    create: (c, inputShape, seed) => createConvNet({ inputShape, widths: c.widths, seed }),
  }),
  resnet18: defineEncoder({
    name: 'resnet18',
    description: 'CIFAR-style ResNet-18 (3×3 stem, 4 stages × 2 basic blocks, 1×1 projection shortcuts).',
    config: z
      .object({
        widths: widthList([64, 128, 256, 512], 4).describe('channels of the four stages'),
        width: z.number().positive().max(16).default(1).describe('multiplier applied to every stage width'),
      })
      .strict(),
    create: (c, inputShape, seed) => createResNet18Small({ inputShape, widths: c.widths, width: c.width, seed }),
  }),
  gcn: defineEncoder({
    name: 'gcn',
    description: 'Graph convolutional network (Kipf & Welling): GCN layers with PReLU, Â = D^-1/2 (A+I) D^-1/2; needs a graph dataset (e.g. cora:PATH).',
    config: z.object({ widths: widthList([512]).describe('units of each GCN layer (DGI: one layer of 512)') }).strict(),
    create: (c, inputShape, seed, inputs) => {
      if (!inputs?.graph)
        throw new SslError(
          'Encoder "gcn" needs a graph\'s adjacency, so only graph datasets can build it. Use it with a graph dataset, e.g. --dataset cora:PATH.',
        );
      return createGcn({ numFeatures: inputShape[0]!, numNodes: inputs.graph.numNodes, edges: inputs.graph.edges, widths: c.widths, seed });
    },
  }),
  transformer: defineEncoder({
    name: 'transformer',
    description:
      'Small pre-LN transformer on token ids (token + position embeddings, self-attention blocks, mean or [CLS] pooling); needs a text dataset, which sets vocabSize from its vocabulary.',
    config: z
      .object({
        vocabSize: z
          .number()
          .int()
          .min(2)
          .max(1_000_000)
          .default(8192)
          .describe('token ids are in [0, vocabSize); text datasets set it to their vocabulary size'),
        dim: z.number().int().min(4).max(4096).default(64).describe('model width (BERT-base: 768)'),
        layers: z.number().int().min(1).max(48).default(2).describe('number of pre-LN transformer blocks (BERT-base: 12)'),
        heads: z.number().int().min(1).max(64).default(4).describe('attention heads; must divide dim'),
        mlpRatio: z.number().int().min(1).max(16).default(4).describe('MLP hidden width as a multiple of dim'),
        pooling: z.enum(['mean', 'cls']).default('mean').describe('feature vector: mean of the non-padding tokens, or the [CLS] (first) token'),
        hiddenStates: z
          .enum(['last', 'all'])
          .default('all')
          .describe(
            "hidden states pooled into the features: 'all': token embedding + every block's output, concatenated (dim · (layers + 1); BERT's feature-based approach, Devlin et al. 2019 §5.3, which beat using the last layer alone), or 'last' (final layer norm, dim features)",
          ),
      })
      .strict(),
    create: (c, inputShape, seed, inputs) => {
      if (inputs?.vocabSize !== undefined) c = { ...c, vocabSize: inputs.vocabSize };
      if (inputShape.length !== 1)
        throw new SslError(
          `Encoder "transformer" takes token-id sequences of shape [length]; got input shape [${inputShape.join(', ')}]. Use it with a text dataset.`,
        );
      return createTransformer({ ...c, maxLength: inputShape[0]!, seed });
    },
  }),
  'bag-of-embeddings': defineEncoder({
    name: 'bag-of-embeddings',
    description: "Text: token embedding lookup + mean pooling over the non-[PAD]/[UNK] tokens (word2vec's input vectors); text datasets set vocabSize.",
    config: z
      .object({
        dim: z.number().int().min(1).max(4096).default(100).describe('embedding (feature) size'),
        vocabSize: z.number().int().min(0).default(0).describe('number of token ids; text datasets fill it from their tokenizer (0: unset)'),
      })
      .strict(),
    create: (c, _inputShape, seed, inputs) => createBagOfEmbeddings({ vocabSize: inputs?.vocabSize ?? c.vocabSize, dim: c.dim, seed }),
  }),
  'split-convnet': defineEncoder({
    name: 'split-convnet',
    description:
      'Split-brain encoder: one ConvNet tower per disjoint channel group (default L | ab of a Lab image), each seeing only its channels; features = the towers’ concatenated.',
    config: z
      .object({
        groups: z
          .array(z.array(z.number().int().min(0)).min(1))
          .min(2)
          .default([[0], [1, 2]])
          .describe('disjoint input channel groups, one tower each'),
        widths: widthList([16, 32, 64]).describe('channels of each tower’s conv blocks (half the convnet’s, as in the paper)'),
      })
      .strict(),
    create: (c, inputShape, seed) => createSplitConvNet({ inputShape, groups: c.groups, widths: c.widths, seed }),
  }),
  vit: defineEncoder({
    name: 'vit',
    description:
      'Small Vision Transformer on images: patch embedding, class token, 2-D sine-cosine (or learned) positions, pre-LN transformer blocks, final layer norm; features = mean of the patch tokens (or the class token). MAE trains it.',
    config: z
      .object({
        patch: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(4)
          .describe('side of the square patches in pixels; must divide the image sides (28 or 32 px: 4 gives 49 or 64 patches)'),
        dim: z.number().int().min(4).max(4096).default(64).describe('token width (ViT-B: 768)'),
        depth: z.number().int().min(1).max(48).default(4).describe('transformer blocks (ViT-B: 12)'),
        heads: z.number().int().min(1).max(64).default(4).describe('attention heads; must divide dim'),
        mlpRatio: z.number().int().min(1).max(16).default(4).describe('MLP hidden width as a multiple of dim'),
        positions: z.enum(['sincos', 'learned']).default('sincos').describe("position embeddings: fixed 2-D sine-cosine (MAE's) or learned"),
        pooling: z.enum(['mean', 'cls']).default('mean').describe('feature vector: mean of the patch tokens, or the class token'),
      })
      .strict(),
    create: (c, inputShape, seed) => createVit({ ...c, inputShape, seed }),
  }),
} as const satisfies Record<string, EncoderSpec>;

/**
 * A name in {@link ENCODERS}.
 *
 * @example
 * const name: EncoderName = 'convnet';
 */
export type EncoderName = keyof typeof ENCODERS;

/**
 * The config one encoder accepts (fields optional; defaults fill the rest).
 *
 * @example
 * const cfg: EncoderConfigInput<'resnet18'> = { width: 0.5 };
 */
export type EncoderConfigInput<N extends EncoderName> = z.input<(typeof ENCODERS)[N]['config']>;

/**
 * Names in {@link ENCODERS}, in catalogue order.
 *
 * @example
 * ENCODER_NAMES; // ['mlp', 'convnet', 'resnet18']
 */
export const ENCODER_NAMES = Object.keys(ENCODERS) as EncoderName[];

/**
 * Creates an encoder by name after validating its config; errors name the bad field and value.
 *
 * @example
 * const enc = createEncoder('resnet18', { width: 0.25 }, [32, 32, 3], 0); // [n,32,32,3] → [n,128]
 */
export function createEncoder<N extends EncoderName>(name: N, config: EncoderConfigInput<N> | undefined, inputShape: number[], seed: number): tf.LayersModel;
export function createEncoder(name: string, config: unknown, inputShape: number[], seed: number): tf.LayersModel;
export function createEncoder(name: string, config: unknown, inputShape: number[], seed: number): tf.LayersModel {
  if (!Object.hasOwn(ENCODERS, name)) {
    throw new SslError(`Unknown encoder "${name}". Must be one of [${ENCODER_NAMES.join(', ')}]. Pick one with --encoder.`);
  }
  // Sound despite the widening: each entry's create receives what its own schema outputs.
  const spec: EncoderSpec = ENCODERS[name as EncoderName];
  return spec.create(parseWith(spec.config, config ?? {}, `encoder "${name}" config`), inputShape, seed);
}

/**
 * The built-in encoders as a list, for `createEncoderRegistry().use(builtinEncoders)`.
 *
 * @example
 * const encoders = createEncoderRegistry().use(builtinEncoders).use(myEncoder);
 */
export const builtinEncoders: readonly EncoderSpec[] = Object.values(ENCODERS);

/**
 * Encoders by name: typed lookup, `.use()` for plugins, and `create` that validates the config.
 *
 * @example
 * const enc = createEncoderRegistry().use(builtinEncoders).create('mlp', { outputDim: 32 }, { inputShape: [784] }, 0);
 */
export class EncoderRegistry extends NamedRegistry<EncoderSpec> {
  constructor() {
    super({ noun: 'encoder', kind: 'encoder', hint: 'Pick one with --encoder.' });
  }

  /** Validates `config` against the encoder's schema (defaults filled in). */
  parseConfig(name: string, config: unknown): Record<string, unknown> {
    const spec = this.find(name);
    return parseWith(spec.config, config ?? {}, `encoder "${name}" config`) as Record<string, unknown>;
  }

  /** Builds encoder `name` (random init fixed by `seed`) for data described by `inputs`. */
  create(name: string, config: unknown, inputs: EncoderInputs, seed: number): tf.LayersModel {
    const spec = this.find(name);
    return spec.create(parseWith(spec.config, config ?? {}, `encoder "${name}" config`), inputs.inputShape, seed, inputs);
  }
}

/**
 * An empty encoder registry; add the built-ins and plugins with `.use()`.
 *
 * @example
 * const encoders = createEncoderRegistry().use(builtinEncoders);
 */
export function createEncoderRegistry(): EncoderRegistry {
  return new EncoderRegistry();
}
