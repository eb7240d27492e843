import * as tf from '@tensorflow/tfjs';
import { SslError, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENCODERS, ENCODER_NAMES, createConvNet, createEncoder, featureDim } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('ENCODERS / createEncoder', () => {
  it('fills documented defaults and builds the same model as the direct builder', () => {
    expect(ENCODER_NAMES).toEqual(['mlp', 'convnet', 'resnet18', 'gcn', 'transformer', 'bag-of-embeddings', 'split-convnet', 'vit']);
    expect(ENCODERS.convnet.config.parse({})).toEqual({ widths: [32, 64, 128] });
    expect(ENCODERS.resnet18.config.parse({})).toEqual({ widths: [64, 128, 256, 512], width: 1 });
    expect(ENCODERS.mlp.config.parse({})).toEqual({ hidden: [512, 256], outputDim: 128 });
    const viaName = createEncoder('convnet', { widths: [4, 8] }, [8, 8, 1], 7);
    const direct = createConvNet({ inputShape: [8, 8, 1], widths: [4, 8], seed: 7 });
    expect(viaName.getWeights().map((w) => [...w.dataSync()])).toEqual(direct.getWeights().map((w) => [...w.dataSync()]));
    expect(featureDim(createEncoder('mlp', { outputDim: 7 }, [4], 0))).toBe(7);
    expect(featureDim(createEncoder('resnet18', { width: 1 / 16 }, [16, 16, 3], 0))).toBe(32);
    expect(tf.getBackend()).toBeTruthy();
  });

  it('rejects bad configs with an SslError naming the field and the value', () => {
    expect(() => createEncoder('convnet', { widths: [0] }, [28, 28, 1], 0)).toThrow(SslError);
    expect(() => createEncoder('convnet', { widths: [0] }, [28, 28, 1], 0)).toThrow(/Invalid encoder "convnet" config: field "widths.0" = 0/);
    expect(() => createEncoder('mlp', { outputDim: 'big' }, [4], 0)).toThrow(/field "outputDim" = "big": Expected number/);
    expect(() => createEncoder('resnet18', { widths: [8, 16, 32] }, [32, 32, 3], 0)).toThrow(/field "widths" = \[8,16,32\]: Array must contain exactly 4/);
    expect(() => createEncoder('convnet', { depth: 3 }, [28, 28, 1], 0)).toThrow(/unknown field "depth"/);
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => createEncoder('vgg', {}, [28, 28, 1], 0)).toThrow(
      /Unknown encoder "vgg". Must be one of \[mlp, convnet, resnet18, gcn, transformer, bag-of-embeddings, split-convnet, vit\]/,
    );
    // not fooled by names inherited from Object.prototype
    expect(() => createEncoder('toString', {}, [28, 28, 1], 0)).toThrow(/Unknown encoder "toString"/);
  });
});
