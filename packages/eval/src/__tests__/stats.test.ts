import { describe, expect, it } from 'vitest';
import { mean, pairedDifference, sampleStd, studentTCdf, studentTQuantile } from '../stats';

describe('mean and sample std', () => {
  it('match hand values', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    // mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, / (8 − 1), sqrt.
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(Number.isNaN(mean([]))).toBe(true);
    expect(Number.isNaN(sampleStd([0.9]))).toBe(true);
  });
});

describe("Student's t", () => {
  it('CDF matches the closed forms for 1 and 2 degrees of freedom', () => {
    // df = 1 is the Cauchy distribution: 1/2 + atan(t)/π; df = 2: 1/2 + t / (2 √(2 + t²)).
    for (const t of [-3, -0.5, 0, 1, 4.2]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 12);
    }
  });

  it('0.975 quantiles match the printed table', () => {
    const table: Array<[number, number]> = [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [4, 2.7764],
      [9, 2.2622],
      [30, 2.0423],
      [1000, 1.9623],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df), `df ${df}`).toBeCloseTo(t, 3);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.7764, 3);
  });
});

describe('pairedDifference', () => {
  it('three seeds that all gain: the hand-computed interval excludes 0', () => {
    // d = [0.04, 0.03, 0.04]: mean 0.11/3, s = √(((1/300)² + (2/300)² + (1/300)²) / 2) = √(1/30000)
    const r = pairedDifference([0.84, 0.86, 0.85], [0.8, 0.83, 0.81]);
    const s = Math.sqrt(1 / 30000);
    const half = (4.302653 * s) / Math.sqrt(3);
    expect(r.n).toBe(3);
    expect(r.mean).toBeCloseTo(0.11 / 3, 12);
    expect(r.std).toBeCloseTo(s, 12);
    expect(r.lo).toBeCloseTo(0.11 / 3 - half, 5);
    expect(r.hi).toBeCloseTo(0.11 / 3 + half, 5);
    expect(r.excludesZero).toBe(true);
  });

  it('a gain and a loss: the interval contains 0; one seed has no interval', () => {
    const r = pairedDifference([0.81, 0.79], [0.8, 0.8]);
    expect(r.mean).toBeCloseTo(0, 12);
    expect(r.hi).toBeCloseTo((12.7062 * Math.sqrt(0.0002)) / Math.SQRT2, 3);
    expect(r.excludesZero).toBe(false);
    const one = pairedDifference([0.9], [0.8]);
    expect(one.mean).toBeCloseTo(0.1, 12);
    expect(Number.isNaN(one.lo)).toBe(true);
    expect(one.excludesZero).toBe(false);
    expect(() => pairedDifference([1, 2], [1])).toThrow(/equally long/);
  });
});
