import { initBackend, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinCatalogue } from '../catalogue';
import { buildRunConfig } from '../config';
import { holdOut, planRun } from '../pipeline';

beforeAll(async () => {
  await initBackend();
});

/** A labelled source whose item i has label i % 3 and records every index it is asked for. */
function recording(size: number): DataSource<{ ids: number[] }> & { labels: Int32Array; seen: Set<number> } {
  const seen = new Set<number>();
  return {
    modality: 'image',
    size,
    labels: Int32Array.from({ length: size }, (_, i) => i % 3),
    seen,
    batch: (idx) => {
      idx.forEach((i) => seen.add(i));
      return { ids: Array.from(idx) };
    },
  };
}

describe('probe.validation: settings are chosen on held-out training items, never on the test split', () => {
  it('holdOut splits a labelled source into disjoint parts that cover it, with their labels, deterministically', () => {
    const src = recording(50);
    const { train, test } = holdOut(src, 20, 7);
    expect([train.size, test.size]).toEqual([30, 20]);
    const ids = (s: typeof train) =>
      s.batch(
        Int32Array.from({ length: s.size }, (_, i) => i),
        undefined as never,
      ).ids;
    const a = ids(train);
    const b = ids(test);
    expect(new Set([...a, ...b]).size).toBe(50);
    // Labels follow the items they belong to.
    expect(Array.from(train.labels!)).toEqual(a.map((i) => i % 3));
    expect(Array.from(test.labels!)).toEqual(b.map((i) => i % 3));
    expect(ids(holdOut(src, 20, 7).test)).toEqual(b);
    expect(ids(holdOut(src, 20, 8).test)).not.toEqual(b);
    expect(() => holdOut(src, 50, 0)).toThrow(/probe.validation=50 .*has 50/);
  });

  it('a run with --set probe.validation=N fits on trainLimit items and scores on N others, and reads no test item', () => {
    const catalogue = builtinCatalogue();
    const cfg = buildRunConfig(catalogue, { method: 'rotation', set: ['probe.trainLimit=40', 'probe.validation=25'] });
    expect(cfg.probe.validation).toBe(25);
    const plan = planRun(catalogue, cfg, catalogue.tasks.find('rotation'), { trainLimit: 20 });
    const splits = plan.splits();
    expect([splits.train.size, splits.test.size]).toEqual([40, 25]);
    // Every validation image is one of the first 65 training images, none of which the probe fits on.
    const all = plan.dataset.probeSplits(plan.arg, { ...plan.ctx, trainLimit: 65, testLimit: 10, inputShape: [28, 28, 1] }).train;
    const key = (b: unknown, i: number) => Array.from((b as ImageBatch).images.subarray(i * 784, (i + 1) * 784)).join(',');
    const everyIndex = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const pool = all.batch(everyIndex(65), undefined as never);
    const poolKeys = new Set(Array.from({ length: 65 }, (_, i) => key(pool, i)));
    const fit = splits.train.batch(everyIndex(40), undefined as never);
    const val = splits.test.batch(everyIndex(25), undefined as never);
    const fitKeys = new Set(Array.from({ length: 40 }, (_, i) => key(fit, i)));
    for (let i = 0; i < 25; i++) {
      expect(poolKeys.has(key(val, i))).toBe(true);
      expect(fitKeys.has(key(val, i))).toBe(false);
    }
  });

  it('leaves the config of a run without it unchanged (no new key, so earlier run hashes hold)', () => {
    const cfg = buildRunConfig(builtinCatalogue(), { method: 'rotation' });
    expect('validation' in cfg.probe).toBe(false);
  });
});
