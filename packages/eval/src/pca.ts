/**
 * Projects rows onto their first two principal components (power iteration with deflation on
 * the covariance), for 2-D embedding plots. Signs are fixed so the largest-magnitude loading of
 * each component is positive, making the plot deterministic.
 *
 * @example
 * const xy = pca2d(features, n, dim); // Float32Array of n×2
 */
export function pca2d(rows: Float32Array, n: number, dim: number): Float32Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] = mean[j]! + rows[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centred[a]!;
      if (ca === 0) continue;
      for (let b = 0; b < dim; b++) cov[a * dim + b] = cov[a * dim + b]! + ca * centred[b]!;
    }
  }
  const comps: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: dim }, (_, j) => 1 + ((j * 7919) % 13) / 13);
    for (let it = 0; it < 200; it++) {
      const next = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        for (let b = 0; b < dim; b++) s += cov[a * dim + b]! * v[b]!;
        next[a] = s;
      }
      for (const p of comps) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += next[j]! * p[j]!;
        for (let j = 0; j < dim; j++) next[j] = next[j]! - dot * p[j]!;
      }
      const norm = Math.hypot(...next) || 1;
      for (let j = 0; j < dim; j++) next[j] = next[j]! / norm;
      v = next;
    }
    let big = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) for (let j = 0; j < dim; j++) v[j] = -v[j]!;
    comps.push(v);
  }
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (rows[i * dim + j]! - mean[j]!) * comps[c]![j]!;
      out[i * 2 + c] = s;
    }
  return out;
}
