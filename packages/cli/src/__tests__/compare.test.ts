import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareCommand } from '../commands/compare';
import { JobError, type JobRunner, type RunRecord } from '../compare/execute';
import { configHash, parseSeeds, planJobs, resolveMethods } from '../compare/plan';
import { redisConnection } from '../compare/queue';
import { accuracyTable, formatGain, renderResultsMarkdown, summarize } from '../compare/table';
import type { PretrainResult } from '../commands/pretrain';
import { builtinCatalogue, main, type Io } from '../index';

const catalogue = builtinCatalogue();
const registry = catalogue.tasks;
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

function result(method: string, probe: number, random: number, knn = 0.5, randomKnn = 0.5): PretrainResult {
  return {
    method,
    dataset: 'mnist',
    encoder: 'convnet',
    backend: 'cpu',
    threads: 1,
    epochs: 1,
    steps: 2,
    trainImages: 64,
    finalLoss: 1,
    probeMetric: 'linear probe top-1',
    probeAccuracy: probe,
    randomInitProbeAccuracy: random,
    knnAccuracy: knn,
    randomInitKnnAccuracy: randomKnn,
    imagesPerSec: 10,
    examplesPerSec: 40,
    seconds: 3,
    runDir: '',
  };
}

describe('planning', () => {
  it('expands method lists, families and all; rejects unknown names in one line', () => {
    const contrastive = resolveMethods('family:contrastive', registry);
    expect(contrastive).toContain('simclr');
    expect(contrastive).not.toContain('rotation');
    expect(resolveMethods('rotation,simclr,rotation', registry)).toEqual(['rotation', 'simclr']);
    expect(resolveMethods('all', registry)).toEqual(registry.list().map((t) => t.name));
    expect(() => resolveMethods('family:nope', registry)).toThrow(/Unknown family "nope".*Must be one of \[/);
    expect(() => resolveMethods('rotaton', registry)).toThrow(/rotaton/);
    expect(parseSeeds('0,2,1-3')).toEqual([0, 2, 1, 3]);
    expect(() => parseSeeds('0,x')).toThrow(/Invalid seed "x"/);
  });

  it('hashes what decides the result: --set order and spelling do not matter, the seed and budget do, the data folder does not', () => {
    const h = (seed: number, budget: Parameters<typeof configHash>[0]['budget']) => configHash({ method: 'rotation', dataset: 'mnist', seed, budget });
    const a = h(0, { epochs: 1, sets: ['lr=0.001', 'probe.epochs=3'] });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(h(0, { epochs: 1, sets: ['probe.epochs=3', 'lr=1e-3'] })).toBe(a);
    expect(h(0, { epochs: 1, dataDir: '/elsewhere', sets: ['probe.epochs=3', 'lr=0.001'] })).toBe(a);
    expect(h(1, { epochs: 1, sets: ['lr=0.001', 'probe.epochs=3'] })).not.toBe(a);
    expect(h(0, { epochs: 2, sets: ['lr=0.001', 'probe.epochs=3'] })).not.toBe(a);
  });

  it('plans every (method, dataset, seed) and skips methods of another modality with a reason', () => {
    const { jobs, skipped } = planJobs(
      { methods: ['rotation', 'cpc-sequence'], datasets: ['mnist', 'sensors'], seeds: [0, 1], budget: { limit: 64, sets: ['lr=0.01'] } },
      catalogue,
    );
    expect(jobs.map((j) => `${j.method}/${j.dataset}/${j.seed}`)).toEqual([
      'rotation/mnist/0',
      'rotation/mnist/1',
      'cpc-sequence/sensors/0',
      'cpc-sequence/sensors/1',
    ]);
    expect(skipped.map((s) => `${s.method}/${s.dataset}`)).toEqual(['cpc-sequence/mnist', 'rotation/sensors']);
    expect(skipped[0]!.reason).toMatch(/sequence data, mnist is image/);
    expect(jobs[0]!.args).toEqual(['--method', 'rotation', '--dataset', 'mnist', '--seed', '0', '--limit', '64', '--set', 'lr=0.01']);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(4);
    expect(jobs[1]!.dir).toBe(`rotation-mnist-seed1-${jobs[1]!.id}`);
  });

  it('results.md lists skipped methods once per reason, not once per method', () => {
    const { skipped } = planJobs({ methods: ['rotation', 'simclr', 'cpc-sequence'], datasets: ['sensors'], seeds: [0], budget: { sets: [] } }, catalogue);
    const md = renderResultsMarkdown([], { command: 'ssl compare …', skipped });
    const lines = md.split('\n').filter((l) => l.startsWith('- '));
    expect(lines).toEqual(['- `rotation`, `simclr`: each trains on image data, sensors is sequence']);
  });
});

describe('one-line errors', () => {
  it('names the flag, the value and the fix', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['compare'], /ssl compare needs --methods/],
      [['compare', '--methods', 'rotation', '--seeds', '1,x'], /Invalid seed "x" in --seeds/],
      [['compare', '--methods', 'rotation', '--jobs', '0'], /Invalid --jobs 0: must be a whole number ≥ 1/],
      [['compare', '--methods', 'cpc-sequence', '--dataset', 'mnist'], /No method of \[cpc-sequence\] fits dataset\(s\) \[mnist\]/],
      [['worker'], /ssl worker needs --queue/],
      [['worker', '--queue', 'http://h:1'], /must start with redis:\/\//],
    ];
    for (const [argv, re] of cases) {
      const io = quietIo();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      const errors = io.lines.filter((l) => l.startsWith('error: '));
      expect(errors, argv.join(' ')).toHaveLength(1);
      expect(errors[0]).toMatch(re);
    }
  });
});

describe('queue URLs', () => {
  it('parses host, port, database and password; rejects other schemes in one line', () => {
    expect(redisConnection('redis://127.0.0.1:6390')).toEqual({ host: '127.0.0.1', port: 6390, db: 0, maxRetriesPerRequest: null });
    expect(redisConnection('redis://:p%40ss@10.0.0.5/2')).toEqual({ host: '10.0.0.5', port: 6379, db: 2, password: 'p@ss', maxRetriesPerRequest: null });
    expect(() => redisConnection('http://x:1')).toThrow(/must start with redis:\/\//);
    expect(() => redisConnection('redis://h:1/x')).toThrow(/Invalid database "x"/);
  });
});

describe('the table', () => {
  it('mean ± std, paired gain and its 95 % interval match hand values', () => {
    // probe (pretrained, random): seed 0 (0.84, 0.80), seed 1 (0.86, 0.83), seed 2 (0.85, 0.81).
    // Differences 4, 3, 4 points: mean 11/3, s = √(1/3), half width t(0.975, 2) · s / √3 = 4.3027 / 3.
    const records: RunRecord[] = [
      [0, 0.84, 0.8],
      [1, 0.86, 0.83],
      [2, 0.85, 0.81],
    ].map(([seed, p, r]) => ({
      id: `r${seed}`,
      method: 'rotation',
      dataset: 'mnist',
      seed: seed!,
      dir: `d${seed}`,
      status: 'done',
      result: result('rotation', p!, r!, 0.7 + seed! / 100, 0.7),
    }));
    records.push({ id: 'f', method: 'simclr', dataset: 'mnist', seed: 0, dir: 'f', status: 'failed', error: 'Unknown --set key "foo" | bar' });
    const [rot, sim] = summarize(records);
    expect(rot!.seeds).toEqual([0, 1, 2]);
    expect(rot!.probe.mean).toBeCloseTo(0.85, 12);
    expect(rot!.probe.std).toBeCloseTo(0.01, 12);
    expect(rot!.probeGain.mean).toBeCloseTo(0.11 / 3, 12);
    expect(rot!.probeGain.hi - rot!.probeGain.mean).toBeCloseTo(4.302653 / 300, 6);
    expect(rot!.probeGain.excludesZero).toBe(true);
    // kNN gains 0, 1, 2 points: mean 1, s = 1, half width 4.3027 / √3 = 2.484: contains 0.
    expect(rot!.knnGain.mean).toBeCloseTo(0.01, 12);
    expect(rot!.knnGain.excludesZero).toBe(false);
    expect(formatGain(rot!.probeGain)).toBe('+3.67 [+2.23, +5.10] ✓');
    expect(formatGain(rot!.knnGain)).toBe('+1.00 [−1.48, +3.48]');
    const table = accuracyTable([rot!, sim!]);
    expect(table).toContain(
      '| `rotation` | mnist | 0, 1, 2 | **85.00 ± 1.00 %** | 81.33 ± 1.53 % | +3.67 [+2.23, +5.10] ✓ | 71.00 ± 1.00 % | 70.00 ± 0.00 % | +1.00 [−1.48, +3.48] |  |',
    );
    expect(table).toContain('| `simclr` | mnist | — | — | — | — | — | — | — | seed 0: Unknown --set key "foo" \\| bar |');
  });
});

/** A stand-in for `ssl pretrain`: writes what a run folder holds and counts its calls. */
function fakeRunner(calls: Array<{ dir: string; resume: boolean }>, failMethod?: string): JobRunner {
  return async (job, runDir, { resume }) => {
    calls.push({ dir: path.basename(runDir), resume });
    if (job.method === failMethod) throw new JobError(`Unknown --set key "bogus" for method "${job.method}"`, true);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ method: job.method, dataset: job.dataset, seed: job.seed }));
    writeFileSync(path.join(runDir, 'metrics.jsonl'), [1, 2].map((s) => JSON.stringify({ step: s, loss: 2 / s })).join('\n') + '\n');
    const r = result(job.method, 0.8 + job.seed / 100 + (job.method === 'simclr' ? 0.02 : 0), 0.8);
    writeFileSync(path.join(runDir, 'results.json'), JSON.stringify(r));
    return r;
  };
}

const quietIo = (): Io & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l) };
};

describe('ssl compare orchestration (fake runner)', () => {
  it('writes the three files; a rerun trains nothing; a partial run resumes; leftovers restart; input errors show in the table', async () => {
    const out = tmp('ssl-compare-');
    const argv = ['--methods', 'rotation,simclr', '--dataset', 'mnist', '--seeds', '0,1', '--limit', '64', '--out', out];
    const calls: Array<{ dir: string; resume: boolean }> = [];
    expect(await compareCommand(argv, quietIo(), catalogue, fakeRunner(calls))).toBe(0);
    expect(calls).toHaveLength(4);
    const md = readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(md).toContain('| `simclr` | mnist | 0, 1 | 82.50 ± 0.71 % | 80.00 ± 0.00 % | +2.50 [−3.85, +8.85] |');
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.runs).toHaveLength(4);
    expect(json.runs[0].id).toMatch(/^[0-9a-f]{16}$/);
    expect(json.runs[0].result.probeAccuracy).toBe(0.8);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('aria-label="probe accuracy per method with error bars"');
    expect(html.match(/aria-label="loss curves of /g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|src="http/);

    // Rerun: nothing trained, same table.
    calls.length = 0;
    const io = quietIo();
    expect(await compareCommand(argv, io, catalogue, fakeRunner(calls))).toBe(0);
    expect(calls).toHaveLength(0);
    expect(io.lines.join('\n')).toMatch(/4 run\(s\), 4 kept from earlier/);
    expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toBe(md);

    // An interrupted run (config + checkpoint, no results) resumes; a folder without a checkpoint restarts fresh.
    const dirs = json.runs.map((r: { dir: string }) => path.join(out, 'runs', r.dir)) as string[];
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dirs[1]!, 'results.json'));
    writeFileSync(path.join(dirs[1]!, 'checkpoint.ckpt'), 'x');
    rmSync(path.join(dirs[2]!, 'results.json'));
    expect(await compareCommand(argv, quietIo(), catalogue, fakeRunner(calls))).toBe(0);
    expect(calls).toEqual([
      { dir: path.basename(dirs[1]!), resume: true },
      { dir: path.basename(dirs[2]!), resume: false },
    ]);

    // A run that fails for a reason in its input: once, and its error is in the table; exit code 1.
    calls.length = 0;
    const out2 = tmp('ssl-compare-fail-');
    const failing = ['--methods', 'rotation,simclr', '--seeds', '0', '--out', out2];
    expect(await compareCommand(failing, quietIo(), catalogue, fakeRunner(calls, 'simclr'))).toBe(1);
    expect(calls).toHaveLength(2);
    expect(readFileSync(path.join(out2, 'results.md'), 'utf8')).toContain('seed 0: Unknown --set key "bogus" for method "simclr"');
  });
});

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bin.js');

describe('ssl compare end to end (built CLI, tiny budget)', () => {
  it('trains each run in a child process, writes results.md, results.json and report.html; a rerun trains nothing', () => {
    expect(existsSync(bin), 'run `npm run build` first (npm test does)').toBe(true);
    const out = tmp('ssl-compare-e2e-');
    const args = [
      bin,
      'compare',
      '--methods',
      'rotation',
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
      'probe.trainLimit=100',
      '--set',
      'probe.testLimit=60',
      '--set',
      'probe.epochs=2',
      '--out',
      out,
    ];
    const env = { ...process.env, SSL_QUIET: '0', SSL_THREADS: '1' };
    const first = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/\| `rotation` \| mnist \| 0, 1 \| \d+\.\d\d ± \d+\.\d\d % \|/);
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.runs.map((r: { status: string }) => r.status)).toEqual(['done', 'done']);
    const runDir = path.join(out, 'runs', json.runs[0].dir);
    const child = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8'));
    // The table is made from the child's own results.json.
    expect(json.runs[0].result.probeAccuracy).toBe(child.probeAccuracy);
    expect(existsSync(path.join(runDir, 'encoder', 'model.json'))).toBe(true);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('Test embedding (UMAP)');
    expect(html).toContain('aria-label="2-D embedding coloured by label"');
    const mtime = statSync(path.join(runDir, 'results.json')).mtimeMs;
    const md = readFileSync(path.join(out, 'results.md'), 'utf8');

    const second = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('2 run(s), 2 kept from earlier, 0 failed');
    expect(second.stderr).not.toMatch(/training/);
    expect(statSync(path.join(runDir, 'results.json')).mtimeMs).toBe(mtime);
    expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toBe(md);
  });
});
