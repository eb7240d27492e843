import { SslError } from '@ssl/core';

/**
 * Projects rows onto their first two principal components (covariance + power iteration with
 * deflation), for 2-D embedding plots; each component's largest-magnitude loading is made positive,
 * so the plot is deterministic.
 *
 * @example
 * const xy = pca2d(test.features, test.n, test.dim); // Float32Array [x0, y0, x1, y1, ...]
 */
export function pca2d(rows: Float32Array, n: number, dim: number): Float32Array {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(dim) || dim < 1 || rows.length < n * dim) {
    throw new SslError(`pca2d needs n×dim = ${n}×${dim} floats, got ${rows.length}. Pass (features, n, dim) of one FeatureSet.`);
  }
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] = mean[j]! + rows[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j] = mean[j]! / Math.max(n, 1);
  // Covariance (unnormalised; scale does not change eigenvectors), upper triangle then mirrored: half the work.
  const cov = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) x[j] = rows[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const xa = x[a]!;
      if (xa === 0) continue;
      const o = a * dim;
      for (let b = a; b < dim; b++) cov[o + b] = cov[o + b]! + xa * x[b]!;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;

  const comps: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    // A fixed, non-symmetric start vector: deterministic, and unlikely to be orthogonal to the answer.
    let v = Float64Array.from({ length: dim }, (_, j) => 1 + ((j * 7919) % 13) / 13);
    orthonormalise(v, comps);
    for (let it = 0; it < 500; it++) {
      const next = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        const o = a * dim;
        for (let b = 0; b < dim; b++) s += cov[o + b]! * v[b]!;
        next[a] = s;
      }
      // Deflation: stay orthogonal to the components already found.
      orthonormalise(next, comps);
      let delta = 0;
      for (let j = 0; j < dim; j++) delta += Math.abs(next[j]! - v[j]!);
      v = next;
      if (delta < 1e-10 * dim) break;
    }
    let big = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) for (let j = 0; j < dim; j++) v[j] = -v[j]!;
    comps.push(v);
  }
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 2; c++) {
      const p = comps[c]!;
      let s = 0;
      for (let j = 0; j < dim; j++) s += (rows[i * dim + j]! - mean[j]!) * p[j]!;
      out[i * 2 + c] = s;
    }
  return out;
}

/** Removes the projections on `basis` (orthonormal) and scales `v` to unit length; a zero vector stays zero. */
function orthonormalise(v: Float64Array, basis: Float64Array[]): void {
  for (const p of basis) {
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += v[j]! * p[j]!;
    for (let j = 0; j < v.length; j++) v[j] = v[j]! - dot * p[j]!;
  }
  let norm = 0;
  for (const e of v) norm += e * e;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let j = 0; j < v.length; j++) v[j] = v[j]! / norm;
}
