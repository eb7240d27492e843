import { Rng, SslError } from '@ssl/core';

/**
 * Parses a label fraction: `'1%'`, `'10%'`, `'100%'` (any percentage in (0, 100]) or a number in (0, 1].
 *
 * @example
 * parseLabelFraction('10%'); // 0.1
 * parseLabelFraction(0.01);  // 0.01
 */
export function parseLabelFraction(value: string | number): number {
  let v = NaN;
  if (typeof value === 'number') v = value;
  else {
    const s = value.trim();
    // Only plain decimals: Number() would also accept '', '0x1', '1e-1', which are surely typos here.
    if (/^\d+(\.\d+)?%$/.test(s)) v = Number(s.slice(0, -1)) / 100;
    else if (/^(0?\.\d+|1(\.0+)?|0)$/.test(s)) v = Number(s);
  }
  if (!Number.isFinite(v) || v <= 0 || v > 1) {
    throw new SslError(
      `Invalid label fraction ${JSON.stringify(value)}. Must be a percentage in (0%, 100%] such as 1%, 10% or 100%, or a number in (0, 1]. Fix --labels.`,
    );
  }
  return v;
}

/**
 * A class-balanced, seeded subset of labelled rows for the semi-supervised protocol:
 * about `fraction` of all rows, split equally between classes (±1, at least one each), sorted.
 *
 * @example
 * const idx = labelFractionSplit(mnistTrain.labels, parseLabelFraction('1%'), 0); // 600 rows, 60 per digit
 */
export function labelFractionSplit(labels: Int32Array, fraction: number, seed: number): Int32Array {
  parseLabelFraction(fraction);
  if (fraction === 1) return Int32Array.from(labels.keys()); // 100 % is the whole labelled set, imbalance included.
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    let rows = byClass.get(l);
    if (!rows) byClass.set(l, (rows = []));
    rows.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  if (classes.length === 0) return new Int32Array(0);
  const rng = Rng.derive(seed, 'label-fraction');
  const total = Math.max(classes.length, Math.round(labels.length * fraction));
  const base = Math.floor(total / classes.length); // ≥ 1: total ≥ number of classes
  // The remainder goes to a seeded choice of classes, so no class is always the one with one extra.
  const extra = new Set(rng.shuffle([...classes]).slice(0, total - base * classes.length));
  const picked: number[] = [];
  for (const c of classes) {
    const rows = byClass.get(c)!;
    const want = Math.min(rows.length, base + (extra.has(c) ? 1 : 0));
    // A partial Fisher–Yates: only the first `want` positions need shuffling.
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(rows.length - i);
      const t = rows[i]!;
      rows[i] = rows[j]!;
      rows[j] = t;
      picked.push(rows[i]!);
    }
  }
  return Int32Array.from(picked).sort();
}
