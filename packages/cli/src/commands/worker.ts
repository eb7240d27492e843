import path from 'node:path';
import { SslError } from '@ssl/core';
import type { Catalogue } from '@ssl/runner';
import { numberFlag, parseFlags } from '../args';
import { cliJobRunner, type JobRunner } from '../compare/execute';
import { QUEUE_NAME, startWorker } from '../compare/queue';
import type { Io } from '../io';

export const WORKER_HELP = `Usage: ssl worker --queue redis://HOST:PORT [options]

Takes \`ssl compare --queue\` runs from Redis (BullMQ queue "${QUEUE_NAME}"), trains each with
\`ssl pretrain\` in a child process and sends its results and encoder back. Run one per machine (or
more); stop with Ctrl-C (the current run finishes first; a second Ctrl-C quits at once).

Options:
  --queue URL            Redis URL, e.g. redis://10.0.0.5:6379 (required)
  --work-dir DIR         where runs are trained (default ssl-worker); a run interrupted here
                         resumes from its checkpoint when it comes back to this machine
  --concurrency N        runs at once (default 1); each gets 1/N of the cores via SSL_THREADS
  --lock-duration MS     a dead worker's run goes back to the queue after this long (default 30000)
  --stalled-interval MS  how often lost runs are looked for (default 30000)
`;

const FLAGS = {
  queue: { type: 'string' },
  'work-dir': { type: 'string' },
  concurrency: { type: 'string' },
  'lock-duration': { type: 'string' },
  'stalled-interval': { type: 'string' },
  help: { type: 'boolean' },
} as const;

function positive(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = numberFlag(name, value) ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new SslError(`Invalid --${name} ${value}: must be a whole number ≥ ${min}.`);
  return n;
}

/**
 * `ssl worker`: trains queued comparison runs until stopped (SIGINT/SIGTERM).
 * `runner` replaces the child-process runner (tests).
 */
export async function workerCommand(argv: string[], io: Io, _catalogue: Catalogue, runner?: JobRunner): Promise<number> {
  const { values } = parseFlags('worker', argv, FLAGS);
  if (values.help) {
    io.out(WORKER_HELP);
    return 0;
  }
  if (!values.queue) throw new SslError('ssl worker needs --queue redis://HOST:PORT: the Redis that `ssl compare --queue` uses.');
  const workDir = path.resolve(values['work-dir'] ?? 'ssl-worker');
  const worker = startWorker({
    url: values.queue,
    workDir,
    concurrency: positive('concurrency', values.concurrency, 1, 1),
    lockDuration: positive('lock-duration', values['lock-duration'], 30000, 1000),
    stalledInterval: positive('stalled-interval', values['stalled-interval'], 30000, 500),
    runner: runner ?? cliJobRunner(),
    log: io.out,
  });
  await worker.waitUntilReady();
  io.out(`worker ${process.pid} ready: queue "${QUEUE_NAME}" on ${values.queue}, runs in ${workDir}`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(130);
      stopping = true;
      io.err('stopping after the current run (again to quit now)...');
      void worker.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
