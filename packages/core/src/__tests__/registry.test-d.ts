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

describe('typed registry', () => {
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
