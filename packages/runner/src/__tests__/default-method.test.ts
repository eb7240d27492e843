import * as tf from '@tensorflow/tfjs';
import { definePretextTask } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Catalogue, builtinCatalogue } from '../catalogue';
import { buildRunConfig } from '../config';

const flipTask = definePretextTask({
  name: 'flip-default',
  family: 'context',
  modality: 'image',
  title: 'Flip',
  paper: 'test',
  description: 'test',
  config: z.object({}).strict(),
  createHeads: () => ({}),
  prepare: (raw) => ({ x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]) }),
  loss: ({ batch }) => tf.mean(batch.x) as tf.Scalar,
});

describe('the default method is the catalogue’s, not the runner’s', () => {
  it('the built-in catalogue names one, and a run without a method uses it', () => {
    const catalogue = builtinCatalogue();
    expect(catalogue.defaultMethod).toBe('autoencoder');
    expect(buildRunConfig(catalogue, { dataset: 'mnist' }).method).toBe('autoencoder');
  });

  it('a plugin (or a library user) can set it; it must be a registered task', () => {
    const catalogue = builtinCatalogue().use({ tasks: [flipTask], defaultMethod: 'flip-default' });
    expect(catalogue.defaultMethod).toBe('flip-default');
    expect(buildRunConfig(catalogue, { dataset: 'mnist' }).method).toBe('flip-default');
    expect(builtinCatalogue().use({ defaultMethod: 'jigsaw' }).defaultMethod).toBe('jigsaw');
    expect(() => builtinCatalogue().setDefaultMethod('rotaton')).toThrow(/Unknown method "rotaton". Must be one of \[.*rotation.*\]/);
  });

  it('a catalogue without a default refuses a run that names no method, listing the choices', () => {
    const b = builtinCatalogue();
    const bare = new Catalogue(b.tasks, b.datasets, b.protocols, b.encoders);
    expect(bare.defaultMethod).toBeUndefined();
    expect(() => buildRunConfig(bare, { dataset: 'mnist' })).toThrow(
      /^No method given and the catalogue has no default method\. Name one with --method NAME .*\[.*rotation.*\]\.$/,
    );
    expect(buildRunConfig(bare, { method: 'jigsaw', dataset: 'mnist' }).method).toBe('jigsaw');
  });
});
