/**
 * A small, fast, seedable pseudo-random generator (sfc32) used for everything random in @ssl:
 * shuffling, augmentations, pretext sampling and weight initialisation seeds.
 * Its whole state is four 32-bit words, so a run can save and restore it exactly.
 *
 * @example
 * const rng = new Rng(42);
 * rng.float();            // in [0, 1)
 * rng.int(10);            // 0..9
 * rng.shuffle([1, 2, 3]); // in place, seeded
 * const child = rng.fork('augment'); // an independent stream derived from the label
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string = 0) {
    const h = typeof seed === 'string' ? hashString(seed) : hashNumbers([seed]);
    this.a = h[0]!;
    this.b = h[1]!;
    this.c = h[2]!;
    this.d = h[3]!;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A generator for a derived stream: same parent state + same key → same child. */
  static derive(seed: number, ...keys: Array<number | string>): Rng {
    const r = new Rng(seed);
    for (const k of keys) r.mix(typeof k === 'string' ? hashString(k)[0]! : k >>> 0);
    return r;
  }

  /** Restores a generator from `state()`. */
  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v))) {
      throw new Error(`Invalid Rng state: ${JSON.stringify(state)}. Expected four 32-bit integers from rng.state().`);
    }
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state.map((v) => v >>> 0) as [number, number, number, number];
    return r;
  }

  /** The four state words, enough to continue the stream exactly. */
  state(): [number, number, number, number] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** An integer in [0, n). Throws for n < 1. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isFinite(n)) throw new Error(`Rng.int(n) needs n >= 1, got ${n}.`);
    return Math.floor(this.float() * Math.floor(n));
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** A standard normal sample (Box–Muller). */
  normal(mean = 0, std = 1): number {
    let u = this.float();
    while (u <= 1e-12) u = this.float();
    const v = this.float();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles an array in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick() needs a non-empty array.');
    return items[this.int(items.length)]!;
  }

  /** An independent child stream keyed by a label; does not advance this generator. */
  fork(label: string | number): Rng {
    const r = Rng.fromState(this.state());
    r.mix(typeof label === 'string' ? hashString(label)[0]! : label >>> 0);
    return r;
  }

  /** A 31-bit integer seed, e.g. for tfjs initialisers. */
  seed(): number {
    return this.nextUint32() >>> 1;
  }

  private mix(k: number): void {
    this.a = (this.a ^ k) | 0;
    this.d = (this.d + Math.imul(k, 0x9e3779b1)) | 0;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }
}

function hashNumbers(values: number[]): [number, number, number, number] {
  let h1 = 0x6a09e667,
    h2 = 0xbb67ae85,
    h3 = 0x3c6ef372,
    h4 = 0xa54ff53a;
  for (const v of values) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h1 = Math.imul(h1 ^ lo, 0x85ebca6b);
    h2 = Math.imul(h2 ^ hi, 0xc2b2ae35);
    h3 = Math.imul(h3 ^ (lo + hi), 0x27d4eb2f);
    h4 = Math.imul(h4 ^ (lo ^ 0x165667b1), 0x9e3779b1);
  }
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

function hashString(s: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
