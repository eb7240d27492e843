import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defaultRegistry, definePretextTask } from '../registry';

const makeTask = <N extends string>(name: N, title = 'A task') =>
  definePretextTask({
    name,
    family: 'context',
    modality: 'image',
    title,
    paper: 'Test 2026',
    description: 'test task',
    config: z.object({ classes: z.number().int().min(2).default(4), mode: z.enum(['a', 'b']).default('a') }).strict(),
    createHeads: () => ({}),
    prepare: () => ({}),
    loss: () => tf.scalar(0),
  });

describe('registry', () => {
  it('registers, lists and looks up tasks', () => {
    const r = createRegistry()
      .use(makeTask('alpha'))
      .use([makeTask('beta')])
      .use({ tasks: [makeTask('gamma')] });
    expect(r.names()).toEqual(['alpha', 'beta', 'gamma']);
    expect(r.get('beta').name).toBe('beta');
    expect(r.has('delta')).toBe(false);
  });

  it('rejects duplicates naming both, unless overridden', () => {
    const r = createRegistry().use(makeTask('alpha', 'First'));
    expect(() => r.use(makeTask('alpha', 'Second'))).toThrow(/Duplicate pretext task "alpha".*"First".*"Second"/);
    expect(() => r.use(makeTask('alpha', 'Second'), { override: true })).not.toThrow();
    expect(r.get('alpha').title).toBe('Second');
  });

  it('unknown names list the known ones', () => {
    const r = createRegistry().use(makeTask('alpha'));
    expect(() => r.find('alpah')).toThrow('Unknown method "alpah". Must be one of [alpha]');
  });

  it('parses configs with defaults and names the bad field and value', () => {
    const r = createRegistry().use(makeTask('alpha'));
    expect(r.parseConfig('alpha', {})).toEqual({ classes: 4, mode: 'a' });
    expect(() => r.parseConfig('alpha', { classes: 1 })).toThrow(/field "classes" = 1/);
    expect(() => r.parseConfig('alpha', { mode: 'c' } as never)).toThrow(/field "mode" = "c": must be one of \[a, b\]/);
    expect(() => r.parseConfig('alpha', { clases: 3 } as never)).toThrow(/unknown field "clases"/);
  });

  it('validates names and schemas at definition time', () => {
    expect(() => makeTask('Bad_Name')).toThrow(/kebab-case/);
    expect(() =>
      definePretextTask({
        name: 'ok',
        family: 'context',
        modality: 'image',
        title: 'x',
        paper: 'x',
        description: 'x',
        config: z.object({ required: z.number() }),
        createHeads: () => ({}),
        prepare: () => ({}),
        loss: () => tf.scalar(0),
      }),
    ).toThrow(/must accept \{\}/);
  });

  it('shares the default registry through globalThis', () => {
    const key = Symbol.for('@ssl/core.defaultRegistry');
    const reg = defaultRegistry();
    expect((globalThis as Record<symbol, unknown>)[key]).toBe(reg);
    expect(defaultRegistry()).toBe(reg);
  });
});
