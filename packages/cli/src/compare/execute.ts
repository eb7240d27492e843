import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SslError } from '@ssl/core';
import type { PretrainResult } from '../commands/pretrain';
import type { CompareJob } from './plan';

/** What became of one run of a comparison. */
export interface RunRecord {
  id: string;
  method: string;
  dataset: string;
  seed: number;
  /** Folder under `<out>/runs/`. */
  dir: string;
  status: 'done' | 'failed';
  /** One line: why the run failed. */
  error?: string;
  /** `ssl pretrain --json`'s output (the run's results.json). */
  result?: PretrainResult;
  /** True when the run was finished before this invocation and nothing was trained. */
  cached?: boolean;
}

/** A failed run; `input` when the cause is in the job's own settings (retrying cannot help). */
export class JobError extends Error {
  constructor(
    message: string,
    readonly input: boolean,
  ) {
    super(message);
    this.name = 'JobError';
  }
}

/** Runs one pretraining job into `runDir` (fresh, or `resume` from its checkpoint) and returns its results. */
export type JobRunner = (job: CompareJob, runDir: string, opts: { resume: boolean; env: NodeJS.ProcessEnv; logFile?: string }) => Promise<PretrainResult>;

/**
 * Where a run folder stands: `done` (results.json of this very run), `partial` (its config and a
 * checkpoint to resume from) or `none` (absent, or leftovers without a checkpoint).
 *
 * @example
 * runState('out/runs/rotation-mnist-seed0-3f2a…', job); // 'done'
 */
export function runState(runDir: string, job: Pick<CompareJob, 'method' | 'dataset' | 'seed'>): 'done' | 'partial' | 'none' {
  const read = (f: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(readFileSync(path.join(runDir, f), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const cfg = read('config.json');
  if (!cfg || cfg.method !== job.method || cfg.dataset !== job.dataset || cfg.seed !== job.seed) return 'none';
  const res = read('results.json');
  if (res && res.method === job.method && res.dataset === job.dataset && typeof res.probeAccuracy === 'number') return 'done';
  return existsSync(path.join(runDir, 'checkpoint.ckpt')) ? 'partial' : 'none';
}

/** Reads a finished run's results.json. */
export function readRunResult(runDir: string): PretrainResult {
  return JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as PretrainResult;
}

/**
 * The built CLI entry (dist/bin.js) that runs each job: `SSL_CLI_BIN`, else the bin.js beside this
 * bundle, else the package's dist (when running from source, e.g. under vitest).
 */
export function cliBinPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.SSL_CLI_BIN, path.join(here, 'bin.js'), path.resolve(here, '../../dist/bin.js')].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new SslError(`The built ssl CLI was not found (looked for ${candidates.join(', ')}). Run \`npm run build\`, or set SSL_CLI_BIN to dist/bin.js.`);
  return found;
}

// Loaded before the CLI in each child: a worker thread (its own event loop, so busy training cannot
// delay it) kills the child as soon as its parent is gone, so a killed or interrupted compare or
// worker leaves no orphan training in the run folder.
const WATCH_CODE = `import { Worker } from 'node:worker_threads';
new Worker("const p = process.ppid; setInterval(() => { if (process.ppid !== p) process.kill(process.pid, 'SIGKILL'); }, 500);", { eval: true }).unref();`;
const PARENT_WATCH = `data:text/javascript,${encodeURIComponent(WATCH_CODE)}`;

/**
 * Runs each job as `node <cli> pretrain --json --out DIR …` in its own process (own wasm heap, own
 * threads). Exit code 2 (the CLI's one-line input errors) becomes an input JobError.
 *
 * @example
 * const result = await cliJobRunner()(job, 'out/runs/x', { resume: false, env: process.env });
 */
export function cliJobRunner(bin: string = cliBinPath()): JobRunner {
  return (job, runDir, { resume, env, logFile }) =>
    new Promise((resolve, reject) => {
      const args = resume ? ['pretrain', '--resume', '--out', runDir, '--json'] : ['pretrain', ...job.args, '--out', runDir, '--json'];
      const child = spawn(process.execPath, ['--import', PARENT_WATCH, bin, ...args], {
        env: { ...env, SSL_QUIET: '0' },
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group: a terminal Ctrl-C reaches the worker (which finishes the run) but not the run itself.
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.length > 1e6) stderr = stderr.slice(-5e5);
      });
      child.on('error', (e) => reject(new JobError(`could not start ${bin}: ${e.message}`, false)));
      child.on('close', (code, signal) => {
        void (
          logFile
            ? fsp
                .mkdir(path.dirname(logFile), { recursive: true })
                .then(() => fsp.writeFile(logFile, stderr))
                .catch(() => undefined)
            : Promise.resolve()
        ).then(() => {
          const errLine = stderr
            .split('\n')
            .reverse()
            .find((l) => l.startsWith('error: '));
          if (code === 0) {
            const last = stdout.trim().split('\n').at(-1) ?? '';
            try {
              resolve(JSON.parse(last) as PretrainResult);
            } catch {
              reject(new JobError(`ssl pretrain printed no JSON result (stdout: ${JSON.stringify(last.slice(0, 200))})`, false));
            }
          } else if (code === 2) reject(new JobError(errLine?.slice('error: '.length) ?? `ssl pretrain exited with code 2`, true));
          else
            reject(new JobError(errLine?.slice('error: '.length) ?? `ssl pretrain ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`, false));
        });
      });
    });
}

/** Each child's share of the cores: SSL_THREADS when set, else ⌊cores / jobs⌋ (at least 1). */
export function childEnv(parallel: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.SSL_THREADS) return { ...env };
  return { ...env, SSL_THREADS: String(Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, parallel)))) };
}

/**
 * Brings one run folder to `done`: keeps a finished run, resumes a partial one from its
 * checkpoint, starts the rest in a fresh folder. Never throws; failures become records.
 */
export async function executeJob(job: CompareJob, runDir: string, runner: JobRunner, opts: { env: NodeJS.ProcessEnv; logFile?: string }): Promise<RunRecord> {
  const base = { id: job.id, method: job.method, dataset: job.dataset, seed: job.seed, dir: job.dir };
  const state = runState(runDir, job);
  if (state === 'done') return { ...base, status: 'done', result: readRunResult(runDir), cached: true };
  if (state === 'none') await fsp.rm(runDir, { recursive: true, force: true });
  try {
    const result = await runner(job, runDir, { resume: state === 'partial', env: opts.env, ...(opts.logFile ? { logFile: opts.logFile } : {}) });
    return { ...base, status: 'done', result };
  } catch (e) {
    return { ...base, status: 'failed', error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

/**
 * Runs every job on this machine, `parallel` at a time, in `<out>/runs/<job.dir>`; logs one line per run.
 *
 * @example
 * const records = await runLocal(jobs, 'cmp', { parallel: 2, runner: cliJobRunner(), log: console.error });
 */
export async function runLocal(
  jobs: CompareJob[],
  outDir: string,
  opts: { parallel: number; runner: JobRunner; log: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<RunRecord[]> {
  const env = childEnv(opts.parallel, opts.env);
  const records: RunRecord[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i]!;
      const tag = `[${i + 1}/${jobs.length}] ${job.method} · ${job.dataset} · seed ${job.seed}`;
      const runDir = path.join(outDir, 'runs', job.dir);
      const state = runState(runDir, job);
      if (state !== 'done') opts.log(`${tag}: ${state === 'partial' ? 'resuming from its checkpoint' : 'training'} (SSL_THREADS=${env.SSL_THREADS})`);
      const r = await executeJob(job, runDir, opts.runner, { env, logFile: path.join(outDir, 'logs', `${job.dir}.log`) });
      records[i] = r;
      if (r.cached) opts.log(`${tag}: finished earlier, kept`);
      else if (r.status === 'done')
        opts.log(
          `${tag}: done in ${r.result!.seconds.toFixed(0)} s, probe ${(100 * r.result!.probeAccuracy).toFixed(2)} % (random init ${(100 * r.result!.randomInitProbeAccuracy).toFixed(2)} %)`,
        );
      else opts.log(`${tag}: FAILED: ${r.error}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, jobs.length)) }, worker));
  return records;
}

/** Every file of a finished run except its checkpoint, as relative path → base64 (what a queue job returns). */
export async function readRunFiles(runDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const e of await fsp.readdir(path.join(runDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && e.name !== 'checkpoint.ckpt' && !e.name.endsWith('.tmp')) out[r] = (await fsp.readFile(path.join(runDir, r))).toString('base64');
    }
  };
  await walk('');
  return out;
}

/** Writes files from {@link readRunFiles} into `runDir` (replacing it), refusing paths that leave it. */
export async function writeRunFiles(runDir: string, files: Record<string, string>): Promise<void> {
  await fsp.rm(runDir, { recursive: true, force: true });
  for (const [rel, b64] of Object.entries(files)) {
    const target = path.resolve(runDir, rel);
    if (!target.startsWith(path.resolve(runDir) + path.sep))
      throw new SslError(`A queue result holds the file "${rel}", which lies outside its run folder; refusing to write it.`);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.writeFile(target, Buffer.from(b64, 'base64'));
  }
}
