import { Rng, SslError } from '@ssl/core';

/** Number of positions where two permutations differ. */
export function hamming(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

/**
 * Greedy maximal-Hamming-distance permutation set (Noroozi & Favaro 2016): starting from one
 * random permutation of `n` items, repeatedly add the candidate whose minimum Hamming distance
 * to the chosen set is largest (ties: first candidate). Candidates are a pool of `pool` random
 * permutations drawn from `seed` (not all n!, to keep it fast in JS), so the set is a
 * deterministic function of (p, n, seed, pool).
 *
 * @example
 * const perms = hammingPermutations(64, 9, 0); // 64 permutations of 0..8
 */
export function hammingPermutations(p: number, n = 9, seed = 0, pool = 2000): Int32Array[] {
  if (!Number.isInteger(p) || p < 1 || p > pool) {
    throw new SslError(`hammingPermutations: p=${p} must be an integer in [1, pool=${pool}].`);
  }
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const cands: Int32Array[] = [];
  for (let tries = 0; cands.length < pool && tries < pool * 20; tries++) {
    const perm = rng.permutation(n);
    const key = perm.join(',');
    if (!seen.has(key)) {
      seen.add(key);
      cands.push(perm);
    }
  }
  if (cands.length < p) throw new SslError(`hammingPermutations: only ${cands.length} distinct permutations of ${n}; p=${p} too large.`);
  const minDist = new Float64Array(cands.length).fill(Infinity);
  const chosen: Int32Array[] = [];
  let next = 0;
  for (let k = 0; k < p; k++) {
    const c = cands[next]!;
    chosen.push(c);
    minDist[next] = -1;
    let best = -1;
    for (let i = 0; i < cands.length; i++) {
      if (minDist[i]! < 0) continue;
      minDist[i] = Math.min(minDist[i]!, hamming(c, cands[i]!));
      if (best < 0 || minDist[i]! > minDist[best]!) best = i;
    }
    next = best;
  }
  return chosen;
}

/**
 * Minimum and mean pairwise Hamming distance of a permutation set.
 *
 * @example
 * permutationStats(hammingPermutations(64)); // { min, mean }
 */
export function permutationStats(perms: ArrayLike<number>[]): { min: number; mean: number } {
  let min = Infinity;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < perms.length; i++) {
    for (let j = i + 1; j < perms.length; j++) {
      const d = hamming(perms[i]!, perms[j]!);
      min = Math.min(min, d);
      sum += d;
      count++;
    }
  }
  return { min: count ? min : 0, mean: count ? sum / count : 0 };
}
