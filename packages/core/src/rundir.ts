import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { removeStaleTempFiles } from './checkpoint';
import { SslError, showValue } from './errors';

/** Files and folders a run writes into its directory (what `--force` replaces). */
export const RUN_FILES = ['config.json', 'checkpoint.ckpt', 'metrics.jsonl', 'results.json', 'report.html', 'train.json', 'encoder'] as const;

/** Options of {@link openRunDir}. */
export interface OpenRunDirOptions {
  /** The run directory (`--out`). */
  dir: string;
  /** Continue the run already in `dir` (`--resume`). */
  resume?: boolean;
  /** Overwrite whatever run or files `dir` holds (`--force`). */
  force?: boolean;
  /** Whether the command offers `--resume` (named in the refusal of an existing run). Default true. */
  resumable?: boolean;
}

/** What {@link openRunDir} found and did. */
export interface OpenedRunDir {
  dir: string;
  /** `new`: empty or absent folder; `resume`: an existing run to continue; `overwrite`: --force replaced a run or files. */
  mode: 'new' | 'resume' | 'overwrite';
  /** Stale `*.tmp-PID` files of killed writers that were removed. */
  removedTemps: string[];
}

function errnoMessage(dir: string, e: unknown): SslError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR')
    return new SslError(`--out "${dir}": a file (not a folder) is in the way. Pick another --out folder or move the file.`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new SslError(`--out "${dir}" cannot be written (${code}: no permission or read-only disk). Pick a writable --out folder, e.g. --out runs/x.`);
  return new SslError(`--out "${dir}" cannot be created (${code ?? (e instanceof Error ? e.message : String(e))}). Pick another --out folder.`);
}

/**
 * Opens a run directory without ever clobbering one: an existing run is continued only with
 * `resume`, replaced only with `force`; a non-empty folder that is not a run is refused; a file in
 * the way or an unwritable parent is one clear line. Stale checkpoint temp files are removed.
 *
 * @example
 * const { mode } = await openRunDir({ dir: 'runs/rot', resume: false, force: false });
 */
export async function openRunDir(options: OpenRunDirOptions): Promise<OpenedRunDir> {
  const { dir, resume = false, force = false, resumable = true } = options;
  let entries: string[] | undefined;
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw new SslError(`--out "${dir}" is a file, not a folder. Pick another --out folder.`);
    entries = (await fsp.readdir(dir)).filter((f) => !f.startsWith('.'));
  } catch (e) {
    if (e instanceof SslError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw errnoMessage(dir, e);
    if (code === 'EACCES') throw errnoMessage(dir, e);
    // ENOENT: a new run.
  }
  const isRun = !!entries && (entries.includes('config.json') || entries.includes('checkpoint.ckpt'));
  let mode: OpenedRunDir['mode'] = 'new';
  if (resume) {
    if (!isRun)
      throw new SslError(`--resume: "${dir}" holds no run (no config.json). Drop --resume to start a new run there, or point --out at the run to continue.`);
    mode = 'resume';
  } else if (entries && entries.length > 0) {
    if (!force) {
      const fix = 'pass --force to overwrite it, or pick another --out';
      if (isRun) {
        throw new SslError(
          resumable ? `--out "${dir}" already holds a run. Continue it with --resume, ${fix}.` : `--out "${dir}" already holds a run; ${fix}.`,
        );
      }
      throw new SslError(`--out "${dir}" is not empty and not an ssl run (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); ${fix}.`);
    }
    mode = 'overwrite';
    for (const f of RUN_FILES) await fsp.rm(path.join(dir, f), { recursive: true, force: true });
  }
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.access(dir, constants.W_OK);
  } catch (e) {
    throw errnoMessage(dir, e);
  }
  const removedTemps = await removeStaleTempFiles(path.join(dir, 'checkpoint.ckpt'));
  return { dir, mode, removedTemps };
}

/** One setting changed by a resume: its dotted path, the old and the new value. */
export interface ResumeChange {
  key: string;
  from: unknown;
  to: unknown;
}

/** A resume as recorded in config.json: when, and what it changed. */
export interface ResumeRecord {
  at: string;
  changed: ResumeChange[];
}

function getPath(obj: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let o = obj;
  for (const k of parts.slice(0, -1)) {
    const next = o[k];
    o = o[k] = next !== null && typeof next === 'object' ? { ...(next as Record<string, unknown>) } : {};
  }
  o[parts.at(-1)!] = value;
}

/** Whether `key` is allowed by one of `patterns` (exact dotted paths, or `prefix.*`). */
function allowed(key: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('.*') ? key.startsWith(p.slice(0, -1)) : key === p));
}

/**
 * Applies the settings given with `--resume` to a saved run config: each requested value that
 * differs from the saved one is applied when its key is in `mutable` and recorded, or refused by
 * name (e.g. another method or dataset: the checkpoint holds that run's state). Never ignores one.
 *
 * @example
 * const { config, changed } = applyResumeChanges(saved, { 'trainer.lr': 0.001 }, ['trainer.lr', 'trainer.epochs']);
 */
export function applyResumeChanges<C extends Record<string, unknown>>(
  saved: C,
  requested: Record<string, unknown>,
  mutable: readonly string[],
): { config: C; changed: ResumeChange[] } {
  const config = { ...saved } as Record<string, unknown>;
  const changed: ResumeChange[] = [];
  for (const [key, to] of Object.entries(requested)) {
    const from = getPath(saved, key);
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    if (!allowed(key, mutable)) {
      throw new SslError(
        `--resume cannot change ${key} (${showValue(from)} → ${showValue(to)}): the checkpoint holds the state of that run. Drop that flag, or start a new run with another --out. A resume can change [${mutable.join(', ')}].`,
      );
    }
    setPath(config, key, to);
    changed.push({ key, from, to });
  }
  return { config: config as C, changed };
}

/**
 * Trainer fields a resume may change (the checkpoint's tensors stay valid): more epochs, another
 * learning rate or schedule, checkpoint and monitor intervals. Everything else is refused by name.
 *
 * @example
 * applyResumeChanges(saved, { 'trainer.lr': 1e-3 }, RESUMABLE_TRAINER_FIELDS.map((k) => `trainer.${k}`));
 */
export const RESUMABLE_TRAINER_FIELDS = [
  'epochs',
  'lr',
  'schedule',
  'warmupEpochs',
  'weightDecay',
  'momentum',
  'checkpointEvery',
  'monitorEvery',
  'embeddingEvery',
] as const;
