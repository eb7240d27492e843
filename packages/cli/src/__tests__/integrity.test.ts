import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../index';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n'), errLines: err };
}

/** The user sees exactly one error line, with no stack trace. */
function expectOneLineError(r: Awaited<ReturnType<typeof run>>, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const errors = r.errLines.filter((l) => l.startsWith('error: '));
  expect(errors, r.err).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at |EEXIST|EACCES|Unterminated|Based on the provided shape/);
}

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const tiny = [
  '--method',
  'rotation',
  '--limit',
  '64',
  '--epochs',
  '1',
  '--batch-size',
  '32',
  '--json',
  '--backend',
  'cpu',
  '--set',
  'probe.trainLimit=40',
  '--set',
  'probe.testLimit=20',
  '--set',
  'probe.epochs=2',
  '--set',
  'widths=[4,8]',
];
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** Writes an h×w PNG whose red channel is `v` and green a gradient. */
function png(file: string, v: number, h = 16, w = 16) {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([v, (i * 7) % 256, 0, 255], 4 * i);
  writeFileSync(file, PNG.sync.write(p));
}

describe('run directories are never clobbered', () => {
  it('refuses an existing run without --resume, a foreign non-empty folder and a file; --force overwrites', { timeout: 60_000 }, async () => {
    const out = path.join(tmp('ssl-cli-rd-'), 'run');
    expect((await run('pretrain', ...tiny, '--out', out)).code).toBe(0);
    const ckpt = readFileSync(path.join(out, 'checkpoint.ckpt'));
    expectOneLineError(await run('pretrain', ...tiny, '--out', out), /already holds a run\. Continue it with --resume, pass --force to overwrite it/);
    expectOneLineError(await run('train', '--task', 'supervised', '--limit', '64', '--out', out), /already holds a run; pass --force to overwrite it/);
    expect(readFileSync(path.join(out, 'checkpoint.ckpt')).equals(ckpt)).toBe(true);
    const foreign = tmp('ssl-cli-rd-');
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    expectOneLineError(await run('pretrain', ...tiny, '--out', foreign), /is not empty and not an ssl run \(notes.txt\); pass --force/);
    const file = path.join(foreign, 'notes.txt');
    expectOneLineError(await run('pretrain', ...tiny, '--out', file), /^error: --out ".*notes.txt" is a file, not a folder\. Pick another --out folder\.$/);
    expectOneLineError(await run('pretrain', ...tiny, '--out', path.join(file, 'x')), /a file \(not a folder\) is in the way/);
    expectOneLineError(await run('pretrain', '--resume', '--out', foreign), /holds no run \(no config.json\)\. Drop --resume/);
    expectOneLineError(await run('pretrain', '--resume', '--force', '--out', out), /--resume and --force contradict each other/);
    const forced = await run('pretrain', ...tiny, '--seed', '1', '--force', '--out', out);
    expect(forced.code).toBe(0);
    expect(json(path.join(out, 'config.json')).seed).toBe(1);
  });
});

describe('--resume applies the flags given, records them, or refuses them by name', () => {
  it('extends --epochs and takes a new lr; refuses another method or batch size; a damaged checkpoint is named', { timeout: 90_000 }, async () => {
    const out = path.join(tmp('ssl-cli-rs-'), 'run');
    expect((await run('pretrain', ...tiny, '--out', out)).code).toBe(0);
    expectOneLineError(await run('pretrain', '--resume', '--out', out, '--method', 'jigsaw'), /--resume cannot change method \("rotation" → "jigsaw"\)/);
    expectOneLineError(await run('pretrain', '--resume', '--out', out, '--batch-size', '16'), /--resume cannot change trainer.batchSize \(32 → 16\)/);
    expectOneLineError(await run('pretrain', '--resume', '--out', out, '--set', 'widths=[8,8]'), /--resume cannot change encoderConfig.widths/);
    const r = await run('pretrain', '--resume', '--out', out, '--epochs', '2', '--set', 'lr=0.0005', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/resume: trainer.epochs 1 → 2/);
    expect(r.err).toMatch(/resume: trainer.lr 0.002 → 0.0005/);
    expect(JSON.parse(r.out).epochs).toBe(2);
    const cfg = json(path.join(out, 'config.json'));
    expect(cfg.trainer.epochs).toBe(2);
    expect(cfg.trainer.lr).toBe(0.0005);
    expect(cfg.resumes).toHaveLength(1);
    expect(cfg.resumes[0].changed).toEqual([
      { key: 'trainer.epochs', from: 1, to: 2 },
      { key: 'trainer.lr', from: 0.002, to: 0.0005 },
    ]);
    // The second epoch ran at the new lr (cosine schedule: never above the new peak).
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(metrics).toHaveLength(4);
    expect(metrics[2].lr).toBeLessThanOrEqual(0.0005);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/Resume 1 \([^)]+\)<\/td><td>trainer.epochs 1 → 2, trainer.lr 0.002 → 0.0005/);
    // Zeroing a region inside the checkpoint (same size) is caught by its checksum.
    const file = path.join(out, 'checkpoint.ckpt');
    const buf = readFileSync(file);
    buf.fill(0, Math.floor(buf.length / 2), Math.floor(buf.length / 2) + 2000);
    writeFileSync(file, buf);
    expectOneLineError(await run('pretrain', '--resume', '--out', out), /Checkpoint ".*checkpoint.ckpt" is damaged: its sha256 does not match its contents/);
    writeFileSync(file, buf.subarray(0, 60));
    expectOneLineError(await run('pretrain', '--resume', '--out', out), /Checkpoint ".*checkpoint.ckpt" is damaged: truncated inside its header/);
  });
});

describe('ssl eval --run', () => {
  it('builds its random-init baseline from the saved encoder, not config.json; a truncated weights.bin is named', { timeout: 90_000 }, async () => {
    const out = path.join(tmp('ssl-cli-ev-'), 'run');
    expect((await run('pretrain', ...tiny, '--out', out)).code).toBe(0);
    const before = await run('eval', '--run', out, '--protocol', 'knn', '--json', '--backend', 'cpu');
    expect(before.code, before.err).toBe(0);
    const cfgFile = path.join(out, 'config.json');
    const cfg = json(cfgFile);
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, encoderConfig: { widths: [16, 32, 64] } }));
    const after = await run('eval', '--run', out, '--protocol', 'knn', '--json', '--backend', 'cpu');
    expect(after.code, after.err).toBe(0);
    expect(JSON.parse(after.out).randomInitAccuracy).toBe(JSON.parse(before.out).randomInitAccuracy);
    expect(JSON.parse(after.out).accuracy).toBe(JSON.parse(before.out).accuracy);
    const bin = path.join(out, 'encoder', 'weights.bin');
    writeFileSync(bin, readFileSync(bin).subarray(0, 100));
    expectOneLineError(
      await run('eval', '--run', out, '--backend', 'cpu'),
      /Weights file ".*weights.bin" holds 100 bytes but ".*model.json" describes \d+: the file is truncated/,
    );
  });
});

describe('image folders as documented', () => {
  it('root/<class>/… of mixed sizes: --image-size resizes, the seeded split is stated, and the probe runs', { timeout: 90_000 }, async () => {
    const root = tmp('ssl-cli-if-');
    for (const [c, cls] of ['a', 'b'].entries()) {
      mkdirSync(path.join(root, cls));
      for (let i = 0; i < 30; i++) png(path.join(root, cls, `${i}.png`), c * 200 + i, i % 2 ? 16 : 20, 16);
    }
    const base = [
      'pretrain',
      '--method',
      'rotation',
      '--dataset',
      `imagefolder:${root}`,
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--backend',
      'cpu',
      '--json',
      '--set',
      'probe.trainLimit=40',
      '--set',
      'probe.testLimit=10',
      '--set',
      'probe.epochs=2',
      '--set',
      'widths=[4,8]',
    ];
    expectOneLineError(
      await run(...base, '--out', path.join(root, '..', path.basename(root) + '-r0')),
      /1.png" is 16×16 but the first image is 20×16\. Resize them all: --image-size 20/,
    );
    const out = path.join(root, '..', path.basename(root) + '-r1');
    const r = await run(...base, '--image-size', '16', '--test-fraction', '0.25', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/has no train\/ and test\/ folders: split each class with seed 0, 25 % test: 44 train, 16 test images/);
    const res = JSON.parse(r.out);
    expect(res.trainImages).toBe(44);
    expect(res.probeAccuracy).toBeGreaterThanOrEqual(0);
    expect(json(path.join(out, 'config.json'))).toMatchObject({ imageSize: 16, testFraction: 0.25 });
  });

  it('an unlabelled flat folder pretrains; the probe is skipped with a line saying why', { timeout: 90_000 }, async () => {
    const root = tmp('ssl-cli-flat-');
    for (let i = 0; i < 40; i++) png(path.join(root, `${i}.png`), i * 5);
    const out = path.join(root, '..', path.basename(root) + '-r');
    const r = await run(
      'pretrain',
      '--method',
      'rotation',
      '--dataset',
      `imagefolder:${root}`,
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--backend',
      'cpu',
      '--set',
      'widths=[4,8]',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^probe skipped: ".*" holds unlabelled images \(no class folders\), so there is nothing to probe\. Pretraining uses them all/);
    expect(readFileSync(path.join(out, 'encoder', 'model.json'), 'utf8')).toMatch(/layers-model/);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/n\/a \(no probe\)/);
    expectOneLineError(await run('eval', '--run', out, '--backend', 'cpu'), /Cannot evaluate run ".*": ".*" holds unlabelled images/);
  });
});
