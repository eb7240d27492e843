import { SslError } from '@ssl/core';

/**
 * Arithmetic mean; NaN for an empty list.
 *
 * @example
 * mean([1, 2, 3]); // 2
 */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/**
 * Sample standard deviation (divides by n − 1); NaN for fewer than two values.
 *
 * @example
 * sampleStd([2, 4, 4, 4, 5, 5, 7, 9]); // 2.138…
 */
export function sampleStd(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012,
    9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/**
 * Cumulative distribution function of Student's t with `df` degrees of freedom.
 *
 * @example
 * studentTCdf(0, 3); // 0.5
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new SslError(`Invalid degrees of freedom ${df}: must be > 0.`);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The two-sided critical value of Student's t: the q-quantile (e.g. q = 0.975 for a 95 % interval).
 *
 * @example
 * studentTQuantile(0.975, 1); // 12.706…
 */
export function studentTQuantile(q: number, df: number): number {
  if (!(q > 0 && q < 1)) throw new SslError(`Invalid quantile ${q}: must be strictly between 0 and 1.`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -studentTQuantile(1 - q, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean of paired differences a − b with a two-sided t confidence interval. */
export interface PairedDifference {
  /** Number of pairs. */
  n: number;
  /** Mean of a[i] − b[i]. */
  mean: number;
  /** Sample standard deviation of the differences (NaN for n < 2). */
  std: number;
  /** Interval bounds (NaN for n < 2). */
  lo: number;
  hi: number;
  /** Confidence level of [lo, hi], e.g. 0.95. */
  level: number;
  /** Whether the interval lies entirely above or below 0 (false for n < 2). */
  excludesZero: boolean;
}

/**
 * Paired difference of two measurements on the same units (e.g. pretrained vs random init on the
 * same seeds): mean ± t(level, n − 1) · s / √n.
 *
 * @example
 * pairedDifference([0.82, 0.83, 0.81], [0.80, 0.80, 0.79]); // { mean: 0.0233…, lo: …, hi: …, excludesZero: true, … }
 */
export function pairedDifference(a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): PairedDifference {
  if (a.length !== b.length)
    throw new SslError(`pairedDifference needs equally long lists (got ${a.length} and ${b.length}): pair each measurement with its baseline.`);
  if (!(level > 0 && level < 1)) throw new SslError(`Invalid confidence level ${level}: must be strictly between 0 and 1, e.g. 0.95.`);
  const d = Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);
  const n = d.length;
  const m = mean(d);
  const s = sampleStd(d);
  if (n < 2) return { n, mean: m, std: NaN, lo: NaN, hi: NaN, level, excludesZero: false };
  const half = (studentTQuantile(1 - (1 - level) / 2, n - 1) * s) / Math.sqrt(n);
  const lo = m - half;
  const hi = m + half;
  return { n, mean: m, std: s, lo, hi, level, excludesZero: lo > 0 || hi < 0 };
}
