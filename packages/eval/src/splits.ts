import { Rng, SslError } from '@ssl/core';

/**
 * Parses a label fraction: `1%`, `10%`, `100%`, or a number in (0, 1].
 *
 * @example
 * parseLabelFraction('10%'); // 0.1
 */
export function parseLabelFraction(s: string | number): number {
  const v = typeof s === 'number' ? s : s.trim().endsWith('%') ? Number(s.trim().slice(0, -1)) / 100 : Number(s);
  if (!Number.isFinite(v) || v <= 0 || v > 1) {
    throw new SslError(`Invalid label fraction "${s}". Must be a percentage in (0%, 100%] such as 1%, 10% or 100%, or a number in (0, 1].`);
  }
  return v;
}

/**
 * A class-balanced, seeded subset of labelled rows: `fraction` of each class (at least one),
 * the same for the same seed. The semi-supervised protocol's 1 % / 10 % splits.
 *
 * @example
 * const idx = labelFractionSplit(train.labels, 0.01, 0); // 600 of MNIST's 60k, 60 per class
 */
export function labelFractionSplit(labels: Int32Array, fraction: number, seed: number): Int32Array {
  parseLabelFraction(fraction);
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const total = Math.max(byClass.size, Math.round(labels.length * fraction));
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const rng = Rng.derive(seed, 'label-fraction');
  // Equal shares per class (±1), capped by what each class has.
  const base = Math.floor(total / classes.length);
  let extra = total - base * classes.length;
  const picked: number[] = [];
  for (const c of classes) {
    const rows = rng.shuffle([...byClass.get(c)!]);
    const want = Math.max(1, Math.min(rows.length, base + (extra-- > 0 ? 1 : 0)));
    picked.push(...rows.slice(0, want));
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}
