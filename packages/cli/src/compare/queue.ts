import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError } from '@ssl/core';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { PretrainResult } from '../commands/pretrain';
import { JobError, childEnv, readRunFiles, readRunResult, runState, writeRunFiles, type JobRunner, type RunRecord } from './execute';
import type { CompareJob } from './plan';

/** The BullMQ queue every `ssl compare --queue` and `ssl worker` use. */
export const QUEUE_NAME = 'ssl-compare';

/** What a queue job carries. */
interface QueueJobData {
  job: CompareJob;
}

/** What a finished queue job returns: the run's results and its files (base64, without the checkpoint). */
interface QueueJobResult {
  result: PretrainResult;
  files: Record<string, string>;
}

/**
 * Connection options for BullMQ from a `redis://[user:password@]HOST:PORT[/DB]` URL.
 *
 * @example
 * redisConnection('redis://127.0.0.1:6379'); // { host: '127.0.0.1', port: 6379, db: 0, maxRetriesPerRequest: null }
 */
export function redisConnection(url: string) {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SslError(`Invalid --queue "${url}": must be a Redis URL like redis://127.0.0.1:6379.`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new SslError(`Invalid --queue "${url}": must start with redis:// (or rediss:// for TLS), e.g. redis://127.0.0.1:6379.`);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new SslError(`Invalid database "${db}" in --queue "${url}": must be a number, e.g. redis://HOST:6379/0.`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: db ? Number(db) : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking commands need this (never give up on a request while reconnecting).
    maxRetriesPerRequest: null,
  };
}

/** Retry policy of queued runs: a crashed or lost run is retried with exponential backoff. */
export interface QueuePolicy {
  /** Tries per run (a run that fails for a reason in its input fails on the first). Default 3. */
  attempts: number;
  /** First backoff delay in ms, doubled on each retry. Default 5000. */
  backoffMs: number;
  /** How often the caller polls job states, ms. Default 1000. */
  pollMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Enqueues every job (job id = config hash, so enqueueing twice is a no-op) and waits for all to
 * finish or fail, writing each finished run's files into `<out>/runs/<dir>`. Jobs whose run is
 * already finished in `outDir` are not enqueued.
 *
 * @example
 * const records = await runOnQueue(jobs, 'cmp', { url: 'redis://127.0.0.1:6379', log: console.error });
 */
export async function runOnQueue(
  jobs: CompareJob[],
  outDir: string,
  opts: { url: string; log: (line: string) => void } & Partial<QueuePolicy>,
): Promise<RunRecord[]> {
  const policy: QueuePolicy = { attempts: opts.attempts ?? 3, backoffMs: opts.backoffMs ?? 5000, pollMs: opts.pollMs ?? 1000 };
  const queue = new Queue(QUEUE_NAME, { connection: redisConnection(opts.url) });
  queue.on('error', (e) => opts.log(`queue: ${e.message}`));
  const records: RunRecord[] = new Array(jobs.length);
  const pending = new Map<number, CompareJob>();
  try {
    for (const [i, job] of jobs.entries()) {
      const runDir = path.join(outDir, 'runs', job.dir);
      const base = { id: job.id, method: job.method, dataset: job.dataset, seed: job.seed, dir: job.dir };
      if (runState(runDir, job) === 'done') {
        records[i] = { ...base, status: 'done', result: readRunResult(runDir), cached: true };
        opts.log(`[${i + 1}/${jobs.length}] ${job.method} · ${job.dataset} · seed ${job.seed}: finished earlier, kept`);
        continue;
      }
      // A failed job left in Redis by an earlier comparison is tried afresh; any other is shared.
      const old = await queue.getJob(job.id);
      if (old && (await old.getState()) === 'failed') await old.remove();
      await queue.add('pretrain', { job } satisfies QueueJobData, {
        jobId: job.id,
        attempts: policy.attempts,
        backoff: { type: 'exponential', delay: policy.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
      pending.set(i, job);
    }
    if (pending.size) opts.log(`queued ${pending.size} run(s) on ${opts.url} (queue "${QUEUE_NAME}"); start workers with \`ssl worker --queue ${opts.url}\``);
    while (pending.size) {
      for (const [i, job] of [...pending]) {
        const base = { id: job.id, method: job.method, dataset: job.dataset, seed: job.seed, dir: job.dir };
        const tag = `[${i + 1}/${jobs.length}] ${job.method} · ${job.dataset} · seed ${job.seed}`;
        const seen = (await queue.getJob(job.id)) as Job<QueueJobData, QueueJobResult> | undefined;
        if (!seen)
          throw new SslError(`Job ${job.id} vanished from the queue (was Redis flushed?). Run the same \`ssl compare\` again: finished runs are kept.`);
        const state = await seen.getState();
        if (state !== 'completed' && state !== 'failed') continue;
        // The job may have ended between the two reads above: read it again, now that it has, for
        // its result or failure reason.
        const j = ((await queue.getJob(job.id)) ?? seen) as Job<QueueJobData, QueueJobResult>;
        if (state === 'completed') {
          const runDir = path.join(outDir, 'runs', job.dir);
          const value = j.returnvalue;
          await writeRunFiles(runDir, value.files);
          const result = { ...value.result, runDir };
          await fsp.writeFile(path.join(runDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
          records[i] = { ...base, status: 'done', result };
          opts.log(`${tag}: done on a worker in ${result.seconds.toFixed(0)} s, probe ${(100 * result.probeAccuracy).toFixed(2)} %`);
          pending.delete(i);
        } else if (state === 'failed') {
          records[i] = { ...base, status: 'failed', error: (j.failedReason || 'failed').split('\n')[0]! };
          opts.log(`${tag}: FAILED: ${records[i].error}`);
          pending.delete(i);
        }
      }
      if (pending.size) await sleep(policy.pollMs);
    }
  } finally {
    await queue.close();
  }
  return records;
}

/** Settings of `ssl worker`. */
export interface WorkerOptions {
  url: string;
  /** Where runs are trained (`<workDir>/runs/<dir>`); a run interrupted here resumes from its checkpoint. */
  workDir: string;
  /** Runs at once on this machine. */
  concurrency: number;
  /** Job lock in ms: a worker that stops renewing it (dead) loses its job after this long. */
  lockDuration: number;
  /** How often stalled jobs (lost locks) are looked for, ms. */
  stalledInterval: number;
  runner: JobRunner;
  log: (line: string) => void;
}

/**
 * Starts a BullMQ worker that trains queued runs with `runner` and returns their files. Input
 * errors fail the job at once (UnrecoverableError); crashes are retried by the queue.
 *
 * @example
 * const worker = startWorker({ url, workDir: 'ssl-worker', concurrency: 1, lockDuration: 30000, stalledInterval: 30000, runner: cliJobRunner(), log: console.log });
 * await worker.close();
 */
export function startWorker(opts: WorkerOptions): Worker<QueueJobData, QueueJobResult> {
  const env = childEnv(opts.concurrency);
  const worker = new Worker<QueueJobData, QueueJobResult>(
    QUEUE_NAME,
    async (j) => {
      const { job } = j.data;
      const runDir = path.join(opts.workDir, 'runs', job.dir);
      const state = runState(runDir, job);
      opts.log(`started ${job.id} ${job.method} ${job.dataset} seed ${job.seed} (attempt ${j.attemptsStarted}${state === 'partial' ? ', resuming' : ''})`);
      if (state === 'none') await fsp.rm(runDir, { recursive: true, force: true });
      let result: PretrainResult;
      if (state === 'done') result = readRunResult(runDir);
      else {
        try {
          result = await opts.runner(job, runDir, { resume: state === 'partial', env, logFile: path.join(opts.workDir, 'logs', `${job.dir}.log`) });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          opts.log(`failed ${job.id}: ${msg}`);
          if (e instanceof JobError && e.input) throw new UnrecoverableError(msg);
          throw e instanceof Error ? e : new Error(msg);
        }
      }
      const files = await readRunFiles(runDir);
      opts.log(`finished ${job.id} ${job.method} ${job.dataset} seed ${job.seed}`);
      return { result, files };
    },
    {
      connection: redisConnection(opts.url),
      concurrency: opts.concurrency,
      lockDuration: opts.lockDuration,
      stalledInterval: opts.stalledInterval,
      maxStalledCount: 3,
    },
  );
  worker.on('error', (e) => opts.log(`worker: ${e.message}`));
  return worker;
}
