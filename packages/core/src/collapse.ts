/** Rows of the embedding sample used for the effective rank (the Gram matrix is at most this square). */
export const EMBEDDING_RANK_SAMPLE = 128;

/**
 * The embedding counts as collapsed when the std of its L2-normalised rows falls below this
 * fraction of 1/√d (the std of L2-normalised isotropic Gaussian vectors, the healthy level).
 */
export const COLLAPSE_FRACTION = 0.1;

/** What {@link embeddingStats} measures on a batch of embeddings. */
export interface EmbeddingStats {
  /** Mean over the d dimensions of the batch std of the L2-normalised rows (≈ 1/√d when healthy, 0 when collapsed). */
  std: number;
  /** exp(entropy) of the normalised singular values of the L2-normalised rows (1 = one direction, at most min(sample, d)). */
  effectiveRank: number;
  /** Size of one embedding. */
  dim: number;
  /** True when `std < COLLAPSE_FRACTION / √dim`. */
  collapsed: boolean;
}

/** Eigenvalues of a symmetric n×n matrix (row-major, overwritten) by cyclic Jacobi rotations. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    }
    if (off <= 1e-22 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]!);
}

/**
 * Collapse statistics of n embeddings of size d (row-major): the std of the L2-normalised rows
 * (Chen & He 2021, Fig. 2) and the effective rank (Roy & Vetterli 2007, as RankMe) of the first
 * {@link EMBEDDING_RANK_SAMPLE} normalised rows, from the eigenvalues of their Gram matrix.
 *
 * @example
 * embeddingStats(new Float32Array([1, 0, 0, 1]), 2, 2); // { std: 0.5, effectiveRank: 2, dim: 2, collapsed: false }
 */
export function embeddingStats(values: ArrayLike<number>, n: number, d: number): EmbeddingStats {
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += values[i * d + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) z[i * d + j] = values[i * d + j]! * inv;
  }
  let std = 0;
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += z[i * d + j]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (z[i * d + j]! - mean) ** 2;
    std += Math.sqrt(v / n);
  }
  std /= d;
  const m = Math.min(n, EMBEDDING_RANK_SAMPLE);
  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = i; k < m; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += z[i * d + j]! * z[k * d + j]!;
      gram[i * m + k] = s;
      gram[k * m + i] = s;
    }
  }
  const sigma = Array.from(symmetricEigenvalues(gram, m), (l) => Math.sqrt(Math.max(l, 0)));
  const total = sigma.reduce((a, b) => a + b, 0);
  let entropy = 0;
  for (const s of sigma) if (s > 0) entropy -= (s / total) * Math.log(s / total);
  return { std, effectiveRank: total > 0 ? Math.exp(entropy) : 0, dim: d, collapsed: std < COLLAPSE_FRACTION / Math.sqrt(d) };
}
