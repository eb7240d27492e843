import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClassList, semiBatch } from '@ssl/runner';
import { builtinRegistry, main, parseTrainSettings, type Io, type TrainCommandResult } from '../index';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), errLines: err };
}

async function expectError(argv: string[], pattern: RegExp) {
  const r = await run('train', ...argv);
  expect(r.code).not.toBe(0);
  const errors = r.errLines.filter((l) => l.startsWith('error: '));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
}

describe('ssl train: argument validation', () => {
  it('a bad --task names the value and the allowed tasks', async () => {
    await expectError(['--task', 'fewshoot'], /Unknown --task "fewshoot". Must be one of \[supervised, fewshot, semi\]/);
  });

  it('a bad --labels names the value and what is allowed', async () => {
    await expectError(
      ['--task', 'semi', '--aux', 'rotation', '--labels', '150%'],
      /Invalid label fraction "150%". Must be a percentage in \(0%, 100%\] such as 1%, 10% or 100%/,
    );
    await expectError(['--labels', 'ten'], /Invalid label fraction "ten"/);
    await expectError(['--task', 'fewshot', '--labels', '10%'], /--labels does not apply to --task fewshot/);
    await expectError(['--task', 'semi', '--aux', 'rotation', '--labels', '100%'], /needs a labelled fraction below 100%/);
  });

  it('auxiliary task: must be registered, image data, and semi needs one', async () => {
    await expectError(['--aux', 'rotaton'], /Unknown method "rotaton". Must be one of \[.*rotation.*\]/);
    await expectError(['--task', 'semi'], /--task semi \(S4L\) needs --aux NAME/);
    await expectError(['--aux-weight', '0.5'], /--aux-weight needs --aux NAME/);
    await expectError(['--aux', 'rotation', '--aux-weight', '-1'], /Invalid --aux-weight -1: must be a number ≥ 0/);
    await expectError(['--joint-labels', '--aux', 'jigsaw'], /--joint-labels .* cannot use --aux "jigsaw"/);
    await expectError(['--task', 'fewshot', '--joint-labels'], /--joint-labels works with --task supervised, not "fewshot"/);
    await expectError(['--task', 'supervised', '--episodes', '10'], /--episodes applies to --task fewshot only/);
  });

  it('few-shot class split must leave enough held-out classes', async () => {
    await expectError(
      ['--task', 'fewshot', '--limit', '200', '--train-classes', '0-6'],
      /5-way testing needs at least 5 held-out classes, but --train-classes leaves 3 \(\[7, 8, 9\]\)/,
    );
    await expectError(['--task', 'fewshot', '--limit', '200', '--train-classes', '0-11'], /--train-classes \[10, 11\] are not a class of "mnist"/);
    expect(parseClassList('0-2,7')).toEqual([0, 1, 2, 7]);
    expect(() => parseClassList('4-1')).toThrow(/Invalid --train-classes "4-1"/);
  });

  it('parses good settings with their defaults', () => {
    const reg = builtinRegistry();
    expect(parseTrainSettings(reg, { task: 'semi', aux: 'rotation' })).toMatchObject({
      task: 'semi',
      aux: 'rotation',
      auxWeight: 1,
      labels: 0.1,
      jointLabels: false,
    });
    expect(parseTrainSettings(reg, { labels: '1%' })).toMatchObject({ task: 'supervised', labels: 0.01 });
    expect(parseTrainSettings(reg, { 'joint-labels': true })).toMatchObject({ aux: 'rotation', jointLabels: true });
    expect(parseTrainSettings(reg, { task: 'fewshot', 'eval-shots': '1,5', 'train-classes': '0-4' })).toMatchObject({
      evalShots: [1, 5],
      trainClasses: [0, 1, 2, 3, 4],
      testEpisodes: 600,
    });
  });
});

describe('S4L batches', () => {
  it('stack the labelled batch (labels kept) and the unlabelled one (labels hidden as -1)', () => {
    const mk = (n: number, v: number, labels?: number[]) => ({
      modality: 'image' as const,
      images: new Float32Array(n * 4).fill(v),
      n,
      height: 2,
      width: 2,
      channels: 1,
      indices: Int32Array.from({ length: n }, (_, i) => 10 * v + i),
      ...(labels ? { labels: Int32Array.from(labels) } : {}),
    });
    const b = semiBatch(mk(2, 1, [3, 7]), mk(3, 2, [4, 4, 4]));
    expect(b.n).toBe(5);
    expect(Array.from(b.labels!)).toEqual([3, 7, -1, -1, -1]);
    expect(Array.from(b.images)).toEqual([...new Array(8).fill(1), ...new Array(12).fill(2)]);
    expect(Array.from(b.indices)).toEqual([10, 11, 20, 21, 22]);
    expect(() => semiBatch(mk(1, 1), mk(1, 2))).toThrow(/labelled half .* has no labels/);
  });
});

describe('ssl train: end to end (tiny MNIST budget)', () => {
  const TINY = ['--encoder', 'mlp', '--set', 'encoder.hidden=[32]', '--set', 'encoder.outputDim=16'];
  it('few-shot with a rotation auxiliary: trains on classes 0-4, tests on 5-9, writes the run directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-train-'));
    const r = await run(
      'train',
      '--task',
      'fewshot',
      '--aux',
      'rotation',
      '--dataset',
      'mnist',
      '--limit',
      '300',
      '--episodes',
      '2',
      '--test-episodes',
      '20',
      '--set',
      'kShot=1',
      '--set',
      'nQuery=2',
      '--set',
      'probe.testLimit=300',
      '--set',
      'aux.hidden=0',
      ...TINY,
      '--out',
      dir,
      '--json',
    );
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as TrainCommandResult;
    expect(res.steps).toBe(2);
    expect(res.trainClasses).toEqual([0, 1, 2, 3, 4]);
    expect(res.testClasses).toEqual([5, 6, 7, 8, 9]);
    expect(res.fewShot!.map((f) => [f.trained.kShot, f.trained.episodes])).toEqual([
      [1, 20],
      [5, 20],
    ]);
    for (const f of res.fewShot!) expect(f.trained.accuracy).toBeGreaterThan(0.2);
    for (const f of ['config.json', 'train.json', 'results.json', 'report.html', 'metrics.jsonl', 'encoder/model.json'])
      expect(existsSync(path.join(dir, f))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')).method).toBe('train:fewshot+rotation');
    // The run directory is an ordinary run: `ssl eval --labels 10%` probes its encoder on 10 % of the labels.
    const ev = await run('eval', '--run', dir, '--protocol', 'knn', '--labels', '10%', '--json');
    expect(ev.code).toBe(0);
    const e = JSON.parse(ev.out) as { accuracy: number; labels: number };
    expect(e.labels).toBe(0.1);
    expect(e.accuracy).toBeGreaterThan(0.2);
  }, 60_000);

  it('semi (S4L) at 10 % labels and joint labels: head and probe beside random init', async () => {
    const base = [
      '--dataset',
      'mnist',
      '--limit',
      '200',
      '--epochs',
      '1',
      '--batch-size',
      '50',
      '--set',
      'probe.testLimit=100',
      '--set',
      'probe.epochs=2',
      ...TINY,
      '--json',
    ];
    const semi = await run(
      'train',
      '--task',
      'semi',
      '--aux',
      'rotation',
      '--labels',
      '10%',
      '--set',
      'aux.hidden=0',
      '--out',
      mkdtempSync(path.join(tmpdir(), 'ssl-semi-')),
      ...base,
    );
    expect(semi.code).toBe(0);
    const s = JSON.parse(semi.out) as TrainCommandResult;
    expect([s.labelledImages, s.trainImages, s.steps, s.labels]).toEqual([20, 200, 4, 0.1]);
    for (const k of ['headAccuracy', 'probeAccuracy', 'randomInitProbeAccuracy'] as const) expect(s[k]).toBeGreaterThanOrEqual(0);
    const joint = await run('train', '--joint-labels', '--out', mkdtempSync(path.join(tmpdir(), 'ssl-joint-')), ...base);
    expect(joint.code).toBe(0);
    const j = JSON.parse(joint.out) as TrainCommandResult;
    expect([j.method, j.jointLabels, j.auxWeight]).toEqual(['train:supervised+joint-rotation', true, null]);
    expect(j.headAccuracy).toBeGreaterThan(0.1);
  }, 60_000);
});
