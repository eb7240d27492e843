import { COLLAPSE_FRACTION, initBackend, train } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createMlp } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { simsiamTask } from '../index';

beforeAll(async () => {
  await initBackend();
});

// Chen & He 2021, Fig. 2: without the stop-gradient SimSiam collapses (the std of the
// L2-normalised output goes to 0); with it the std stays near 1/√d. The trainer's collapse monitor
// must see the difference and warn, once, only in the collapsing run.
describe('SimSiam collapse and the collapse monitor', () => {
  const run = async (stopGradient: boolean) => {
    const lines: string[] = [];
    const encoder = createMlp({ inputShape: [28, 28, 1], hidden: [64], outputDim: 32, seed: 1 });
    const r = await train({
      task: simsiamTask,
      taskConfig: { stopGradient, projectionHidden: 64, projectionDim: 32, predictorHidden: 8 },
      encoder,
      source: loadMnist('train', { limit: 256 }),
      config: { epochs: 10, batchSize: 64, lr: 2e-2, schedule: 'constant', seed: 2, embeddingEvery: 2 },
      log: (l) => lines.push(l),
    });
    encoder.dispose();
    return {
      stds: r.history.filter((h) => h.embStd !== undefined).map((h) => h.embStd!),
      warnings: lines.filter((l) => l.startsWith('warning: the embedding collapsed')),
    };
  };

  it('collapses without the stop-gradient and the monitor warns once; with it, it does not', async () => {
    const healthy = 1 / Math.sqrt(32);
    const off = await run(false);
    const on = await run(true);
    // Both start healthy (same seed, same first step); only the run without stop-gradient decays.
    expect(off.stds[0]!).toBeGreaterThan(0.5 * healthy);
    expect(on.stds[0]!).toBe(off.stds[0]!);
    expect(off.stds.at(-1)!).toBeLessThan(COLLAPSE_FRACTION * healthy);
    expect(off.warnings).toHaveLength(1);
    expect(off.warnings[0]).toMatch(/std of the L2-normalised embeddings .* < 0\.1\/√32/);
    expect(on.stds.at(-1)!).toBeGreaterThan(0.5 * healthy);
    expect(on.warnings).toHaveLength(0);
  });
});
