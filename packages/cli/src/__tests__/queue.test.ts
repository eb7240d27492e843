// ssl compare --queue against a real redis-server (Debian `redis-server`; .ci/run installs it):
// two worker processes, one SIGKILLed during a run; every run must finish exactly once and the
// table must equal the one of a local `--jobs 1` run with the same seeds.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, redisConnection } from '../compare/queue';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bin.js');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis) console.warn('SKIPPED queue test: redis-server is not installed (apt-get install -y redis-server; .ci/run installs it).');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A spawned process with its output gathered, and a way to wait for a line. */
function proc(args: string[], env: NodeJS.ProcessEnv, cmd = process.execPath) {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
  const p = { child, out: '', err: '', exited: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
  child.stdout.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (p.err += d.toString()));
  return p;
}
type Proc = ReturnType<typeof proc>;

/** Resolves with the first stdout match of `re`; rejects after `ms` (a bound, not a timing assumption). */
function waitFor(p: Proc, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = setInterval(() => {
      const m = p.out.match(re);
      if (m) {
        clearInterval(tick);
        resolve(m);
      } else if (Date.now() - t0 > ms) {
        clearInterval(tick);
        reject(new Error(`timed out waiting for ${re} (stdout: ${p.out.slice(-500)} stderr: ${p.err.slice(-500)})`));
      }
    }, 50);
  });
}

const accuracySection = (md: string) => md.slice(md.indexOf('## Accuracy'), md.indexOf('## Cost'));
const started: Proc[] = [];
afterAll(() => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

describe.skipIf(!hasRedis)('ssl compare --queue (real redis-server, two workers, one killed)', () => {
  it('every run finishes exactly once, an input error fails once, and the table equals a local --jobs 1 run', async () => {
    expect(existsSync(bin), 'run `npm run build` first (npm test does)').toBe(true);
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-queue-'));
    const env = { ...process.env, SSL_QUIET: '0', SSL_THREADS: '1' };
    // rotation has no `temperature`: its runs fail for a reason in their input (once, no retries).
    const compareArgs = [
      'compare',
      '--methods',
      'rotation,simclr',
      '--dataset',
      'mnist',
      '--seeds',
      '0,1',
      '--limit',
      '64',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--set',
      'temperature=0.4',
      '--set',
      'probe.trainLimit=100',
      '--set',
      'probe.testLimit=60',
      '--set',
      'probe.epochs=2',
    ];

    // Redis on a free loopback port; `timeout` stops it even if this test process dies.
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redis = proc(['600', 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], env, 'timeout');
    started.push(redis);
    await waitFor(redis, /Ready to accept connections/, 30_000);

    const workerArgs = (dir: string) => [
      bin,
      'worker',
      '--queue',
      url,
      '--work-dir',
      path.join(root, dir),
      '--lock-duration',
      '10000',
      '--stalled-interval',
      '1000',
    ];
    const a = proc(workerArgs('worker-a'), env);
    const b = proc(workerArgs('worker-b'), env);
    started.push(a, b);
    await Promise.all([waitFor(a, /ready/, 60_000), waitFor(b, /ready/, 60_000)]);

    const queued = proc([bin, ...compareArgs, '--queue', url, '--out', path.join(root, 'queued')], env);
    started.push(queued);
    // Kill the first worker that starts a simclr run (SIGKILL: no clean-up), in the middle of it.
    const startedSimclr = /started ([0-9a-f]{16}) simclr/;
    const first = await Promise.race([
      waitFor(a, startedSimclr, 240_000).then((m) => ({ victim: a, survivor: b, m })),
      waitFor(b, startedSimclr, 240_000).then((m) => ({ victim: b, survivor: a, m })),
    ]);
    const { victim, survivor } = first;
    const killedId = first.m[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(await Promise.race([queued.exited, new Promise((r) => setTimeout(() => r('timeout'), 400_000))]), queued.err.slice(-800)).toBe(1);
    survivor.child.kill('SIGTERM');
    await survivor.exited;

    // Exactly once: each simclr run finished once, the killed one on the survivor; each rotation run failed once.
    const logs = a.out + b.out;
    const why = `worker logs:\n${a.out}\n---\n${b.out}\ncompare stderr:\n${queued.err.slice(-1500)}`;
    const finished = [...logs.matchAll(/finished ([0-9a-f]{16}) simclr/g)].map((m) => m[1]);
    expect(finished, why).toHaveLength(2);
    expect(new Set(finished).size, why).toBe(2);
    expect(survivor.out, why).toContain(`finished ${killedId} simclr`);
    expect(victim.out).not.toContain(`finished ${killedId}`);
    expect([...logs.matchAll(/failed ([0-9a-f]{16}): Unknown --set key "temperature"/g)], why).toHaveLength(2);
    const queue = new Queue(QUEUE_NAME, { connection: redisConnection(url) });
    try {
      const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
      expect(counts, why).toEqual({ completed: 2, failed: 2, active: 0, wait: 0, delayed: 0 });
      for (const j of await queue.getJobs(['failed'])) expect(j.attemptsMade, j.failedReason).toBe(1);
    } finally {
      await queue.close();
    }
    redis.child.kill('SIGTERM');
    await redis.exited;

    // The same comparison on this machine, one run at a time: the same table.
    const local = proc([bin, ...compareArgs, '--jobs', '1', '--out', path.join(root, 'local')], env);
    expect(await local.exited, local.err.slice(-800)).toBe(1);
    const mdQueued = readFileSync(path.join(root, 'queued', 'results.md'), 'utf8');
    const mdLocal = readFileSync(path.join(root, 'local', 'results.md'), 'utf8');
    expect(accuracySection(mdQueued)).toMatch(/\| `simclr` \| mnist \| 0, 1 \| \d/);
    expect(accuracySection(mdQueued)).toContain('seed 0: Unknown --set key "temperature"');
    expect(accuracySection(mdQueued), `${why}\nlocal stderr:\n${local.err.slice(-1500)}`).toBe(accuracySection(mdLocal));
    // The encoder came back to the caller's --out.
    const runs = JSON.parse(readFileSync(path.join(root, 'queued', 'results.json'), 'utf8')).runs as Array<{ dir: string; status: string }>;
    for (const r of runs.filter((x) => x.status === 'done')) expect(existsSync(path.join(root, 'queued', 'runs', r.dir, 'encoder', 'weights.bin'))).toBe(true);
    // The killed worker's training child died with it (no orphan finished the run on machine A).
    const killedDir = runs.find((r) => r.dir.endsWith(killedId))!.dir;
    expect(existsSync(path.join(root, victim === a ? 'worker-a' : 'worker-b', 'runs', killedDir, 'results.json'))).toBe(false);
  }, 600_000);
});
