import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend';

describe('backend selection', () => {
  it('picks a working backend and reports it', async () => {
    const info = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    // tfjs-node cannot install here, so it must have been skipped with a reason.
    if (info.name !== 'tensorflow') expect(info.skipped.map((s) => s.name)).toContain('tensorflow');
  });

  it('rejects an unknown forced backend with the allowed values', async () => {
    await expect(initBackend({ backend: 'webgpu' })).rejects.toThrow('Unsupported backend "webgpu". Must be one of [tensorflow, wasm, cpu]');
  });

  it('can be forced to cpu', async () => {
    const info = await initBackend({ backend: 'cpu' });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
