import * as tf from '@tensorflow/tfjs';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, definePretextTask } from '../registry';

const rotationLike = definePretextTask({
  name: 'spin',
  family: 'context',
  modality: 'image',
  title: 'Spin',
  paper: 'x',
  description: 'x',
  config: z.object({ rotations: z.number().default(4) }).strict(),
  createHeads: () => ({}),
  prepare: (raw, { config }) => {
    expectTypeOf(raw.images).toEqualTypeOf<Float32Array>();
    expectTypeOf(config.rotations).toEqualTypeOf<number>();
    return {};
  },
  loss: () => tf.scalar(0),
});

const typedBatch = definePretextTask({
  name: 'typed-batch',
  family: 'context',
  modality: 'image',
  title: 'Typed batch',
  paper: 'x',
  description: 'x',
  config: z.object({}).strict(),
  createHeads: () => ({}),
  prepare: (raw) => ({ x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]), y: tf.oneHot(tf.tensor1d([0], 'int32'), 2) as tf.Tensor2D }),
  loss: ({ batch }) => {
    // The batch `prepare` returns is the type `loss` sees: no `batch.x!`, no casts.
    expectTypeOf(batch.x).toEqualTypeOf<tf.Tensor4D>();
    expectTypeOf(batch.y).toEqualTypeOf<tf.Tensor2D>();
    // @ts-expect-error: "z" is not a field `prepare` returns
    void batch.z;
    return tf.mean(batch.x) as tf.Scalar;
  },
});

describe('typed registry', () => {
  it('registers tasks whose prepared batches differ', () => {
    const both = createRegistry().use([rotationLike, typedBatch]);
    expectTypeOf(both.get('typed-batch')).toEqualTypeOf<typeof typedBatch>();
  });

  const registry = createRegistry().use(rotationLike);

  it('looks up registered names with their exact type', () => {
    expectTypeOf(registry.get('spin')).toEqualTypeOf<typeof rotationLike>();
    expectTypeOf(registry.parseConfig('spin', { rotations: 2 })).toEqualTypeOf<{ rotations: number }>();
  });

  it('rejects a misspelled config field and a wrong value type', () => {
    // @ts-expect-error: "rotatons" is not a config field of "spin"
    registry.parseConfig('spin', { rotatons: 2 });
    // @ts-expect-error: rotations must be a number
    registry.parseConfig('spin', { rotations: 'four' });
  });

  it('rejects a misspelled task name', () => {
    // @ts-expect-error: "spinn" is not a registered task name
    registry.get('spinn');
    // @ts-expect-error: nor can its config be parsed by name
    registry.parseConfig('spinn', {});
    // Runtime strings (CLI input) go through find(), which checks at run time instead.
    expectTypeOf(registry.find('spinn').name).toEqualTypeOf<string>();
  });
});
