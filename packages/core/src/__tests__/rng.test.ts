import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';

describe('Rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('restores exactly from state()', () => {
    const a = new Rng(7);
    a.float();
    const b = Rng.fromState(a.state());
    expect([b.float(), b.float()]).toEqual([a.float(), a.float()]);
    expect(() => Rng.fromState([1, 2])).toThrow(/four 32-bit integers/);
  });

  it('int() is uniform enough and in range', () => {
    const r = new Rng(1);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 40_000; i++) counts[r.int(4)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow(/n >= 1/);
  });

  it('normal() has mean 0 and std 1', () => {
    const r = new Rng(3);
    let s = 0;
    let s2 = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(s2 / n) - 1)).toBeLessThan(0.02);
  });

  it('permutation() is a permutation; derive() and fork() are stable and independent', () => {
    const p = Rng.derive(5, 'epoch', 2).permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...Rng.derive(5, 'epoch', 2).permutation(100)]).toEqual([...p]);
    expect([...Rng.derive(5, 'epoch', 3).permutation(100)]).not.toEqual([...p]);
    const r = new Rng(9);
    const before = r.state();
    const f1 = r.fork('a').float();
    expect(r.state()).toEqual(before);
    expect(r.fork('a').float()).toBe(f1);
    expect(r.fork('b').float()).not.toBe(f1);
  });
});
