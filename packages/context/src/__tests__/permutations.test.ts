import { describe, expect, it } from 'vitest';
import { hamming, hammingPermutations, permutationStats } from '../permutations';

describe('hammingPermutations', () => {
  it('hamming counts differing positions', () => {
    expect(hamming([0, 1, 2, 3], [0, 2, 1, 3])).toBe(2);
  });

  it('is a deterministic set of distinct valid permutations with large Hamming distances', () => {
    const a = hammingPermutations(64, 9, 7);
    const b = hammingPermutations(64, 9, 7);
    const c = hammingPermutations(64, 9, 8);
    expect(a.map((x) => x.join())).toEqual(b.map((x) => x.join()));
    expect(a.map((x) => x.join())).not.toEqual(c.map((x) => x.join()));
    expect(new Set(a.map((x) => x.join())).size).toBe(64);
    for (const p of a) expect([...p].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const stats = permutationStats(a);
    expect(stats.min).toBeGreaterThanOrEqual(6);
    expect(stats.mean).toBeGreaterThan(7.5);
  });

  // pairs: (012,102)=2, (012,210)=2, (102,210)=3
  it('permutationStats matches a hand count', () => {
    expect(
      permutationStats([
        [0, 1, 2],
        [1, 0, 2],
        [2, 1, 0],
      ]),
    ).toEqual({ min: 2, mean: 7 / 3 });
  });
});
