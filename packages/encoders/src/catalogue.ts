import type * as tf from '@tensorflow/tfjs';
import { SslError, parseWith } from '@ssl/core';
import { z } from 'zod';
import { createConvNet, createMlp, createResNet18Small } from './builders';

const widthList = (d: number[]) => z.array(z.number().int().min(1).max(4096)).min(1).default(d);

/**
 * Encoders by name, each with a zod config (defaults filled) and a factory.
 * The CLI's `--encoder` and `--set` use it.
 */
export const ENCODERS = {
  mlp: {
    description: 'Multilayer perceptron on flattened inputs.',
    config: z.object({ hidden: widthList([512, 256]).describe('hidden layer sizes'), outputDim: z.number().int().min(1).default(128).describe('feature size') }).strict(),
    create: (c: { hidden: number[]; outputDim: number }, inputShape: number[], seed: number) => createMlp({ inputShape, hidden: c.hidden, outputDim: c.outputDim, seed }),
  },
  convnet: {
    description: 'Benchmark ConvNet: 3 conv3×3-BN-ReLU blocks (32, 64, 128) with max-pooling, global average pool.',
    config: z.object({ widths: widthList([32, 64, 128]).describe('channels of the conv blocks') }).strict(),
    create: (c: { widths: number[] }, inputShape: number[], seed: number) => createConvNet({ inputShape, widths: c.widths, seed }),
  },
  resnet18: {
    description: 'CIFAR-style ResNet-18 (3×3 stem, 4 stages × 2 basic blocks).',
    config: z.object({ widths: widthList([64, 128, 256, 512]).describe('channels of the four stages') }).strict(),
    create: (c: { widths: number[] }, inputShape: number[], seed: number) => createResNet18Small({ inputShape, widths: c.widths, seed }),
  },
} as const;

/** A registered encoder name. */
export type EncoderName = keyof typeof ENCODERS;

/**
 * Creates an encoder by name with a validated config.
 *
 * @example
 * const enc = createEncoder('convnet', {}, [28, 28, 1], 0);
 */
export function createEncoder(name: string, config: unknown, inputShape: number[], seed: number): tf.LayersModel {
  const entry = ENCODERS[name as EncoderName];
  if (!entry) throw new SslError(`Unknown encoder "${name}". Must be one of [${Object.keys(ENCODERS).join(', ')}].`);
  const parsed = parseWith(entry.config as z.ZodTypeAny, config ?? {}, `encoder "${name}" config`);
  return (entry.create as (c: unknown, s: number[], seed: number) => tf.LayersModel)(parsed, inputShape, seed);
}
