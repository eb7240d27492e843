import { createHash } from 'node:crypto';
import { SslError, type Registry } from '@ssl/core';
import { VERSION, parseSets, type Catalogue } from '@ssl/runner';

/** Budget and overrides shared by every run of a comparison (the flags `ssl pretrain` takes). */
export interface CompareBudget {
  epochs?: number;
  limit?: number;
  batchSize?: number;
  /** Where the dataset files live; passed on, but not part of the config hash (a location, not a setting). */
  dataDir?: string;
  /** `--set key=value` strings, passed to `ssl pretrain` unchanged. */
  sets: string[];
}

/** One (method, dataset, seed) pretraining run of a comparison. */
export interface CompareJob {
  /** The config hash: 16 hex digits of SHA-256 over the run's canonical settings. */
  id: string;
  method: string;
  dataset: string;
  seed: number;
  /** `ssl pretrain` arguments, without --out, --json and --resume. */
  args: string[];
  /** Folder of the run under `<out>/runs/`. */
  dir: string;
}

/** A (method, dataset) pair left out, with why. */
export interface SkippedPair {
  method: string;
  dataset: string;
  reason: string;
}

/**
 * Expands `--methods`: a comma list of names, `all`, or `family:NAME`; every name is checked.
 *
 * @example
 * resolveMethods('family:contrastive', registry); // ['simclr', 'moco', …]
 */
export function resolveMethods(spec: string, registry: Registry): string[] {
  const all = registry.list();
  const out: string[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (part === 'all') out.push(...all.map((t) => t.name));
    else if (part.startsWith('family:')) {
      const family = part.slice('family:'.length);
      const found = all.filter((t) => t.family === family).map((t) => t.name);
      if (!found.length)
        throw new SslError(
          `Unknown family "${family}" in --methods. Must be one of [${[...new Set(all.map((t) => t.family))].join(', ')}], e.g. --methods family:contrastive.`,
        );
      out.push(...found);
    } else out.push(registry.find(part).name);
  }
  if (!out.length) throw new SslError('--methods is empty. Give a comma list (rotation,simclr), all, or family:NAME.');
  return [...new Set(out)];
}

/**
 * Parses `--seeds 0,1,2` (or a range `0-4`) into distinct non-negative integers.
 *
 * @example
 * parseSeeds('0-2'); // [0, 1, 2]
 */
export function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 1000) throw new SslError(`Invalid --seeds range "${part}": write low-high with low ≤ high, e.g. 0-2.`);
      for (let s = a; s <= b; s++) out.push(s);
    } else if (/^\d+$/.test(part) && Number(part) <= 2 ** 31 - 1) out.push(Number(part));
    else throw new SslError(`Invalid seed "${part}" in --seeds: must be a whole number ≥ 0, e.g. --seeds 0,1,2.`);
  }
  if (!out.length) throw new SslError('--seeds is empty. Give a comma list, e.g. --seeds 0,1,2.');
  return [...new Set(out)];
}

/** JSON with object keys sorted at every level, so equal settings hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The config hash of one run: what determines its result (CLI version, method, dataset, seed,
 * budget, `--set` values, order-independent), not where the data lives.
 *
 * @example
 * configHash({ method: 'rotation', dataset: 'mnist', seed: 0, budget: { sets: [] } }); // '3f2a…' (16 hex digits)
 */
export function configHash(run: { method: string; dataset: string; seed: number; budget: CompareBudget }): string {
  const { epochs, limit, batchSize, sets } = run.budget;
  const key = { version: VERSION, method: run.method, dataset: run.dataset, seed: run.seed, epochs, limit, batchSize, set: parseSets(sets) };
  return createHash('sha256').update(canonicalJson(key)).digest('hex').slice(0, 16);
}

/**
 * Every (method, dataset, seed) run, in a fixed order; pairs whose modalities differ are skipped.
 *
 * @example
 * const { jobs, skipped } = planJobs({ methods: ['rotation'], datasets: ['mnist'], seeds: [0, 1], budget: { sets: [] } }, builtinCatalogue());
 */
export function planJobs(
  opts: { methods: string[]; datasets: string[]; seeds: number[]; budget: CompareBudget },
  catalogue: Catalogue,
): { jobs: CompareJob[]; skipped: SkippedPair[] } {
  const jobs: CompareJob[] = [];
  const skipped: SkippedPair[] = [];
  const { budget } = opts;
  for (const dataset of opts.datasets) {
    const { dataset: d } = catalogue.datasets.resolve(dataset);
    for (const method of opts.methods) {
      const task = catalogue.tasks.find(method);
      if (task.modality !== d.modality) {
        skipped.push({ method, dataset, reason: `${method} trains on ${task.modality} data, ${dataset} is ${d.modality}` });
        continue;
      }
      for (const seed of opts.seeds) {
        const id = configHash({ method, dataset, seed, budget });
        const args = ['--method', method, '--dataset', dataset, '--seed', String(seed)];
        if (budget.epochs !== undefined) args.push('--epochs', String(budget.epochs));
        if (budget.limit !== undefined) args.push('--limit', String(budget.limit));
        if (budget.batchSize !== undefined) args.push('--batch-size', String(budget.batchSize));
        if (budget.dataDir !== undefined) args.push('--data-dir', budget.dataDir);
        for (const s of budget.sets) args.push('--set', s);
        const safe = dataset.replace(/[^a-z0-9]+/gi, '_').slice(0, 40);
        jobs.push({ id, method, dataset, seed, args, dir: `${method}-${safe}-seed${seed}-${id}` });
      }
    }
  }
  return { jobs, skipped };
}
