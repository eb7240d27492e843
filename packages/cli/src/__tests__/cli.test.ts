import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /);
}

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

describe('ssl list', () => {
  it('lists methods with family, modality and config fields', async () => {
    const r = await run('list', '--json');
    expect(r.code).toBe(0);
    const { methods } = JSON.parse(r.out) as {
      methods: Array<{ name: string; family: string; modality: string; config: Array<{ name: string; default: unknown }> }>;
    };
    const rot = methods.find((m) => m.name === 'rotation')!;
    expect(rot.family).toBe('context');
    expect(rot.modality).toBe('image');
    expect(methods.find((m) => m.name === 'autoencoder')!.config.map((f) => f.name)).toContain('loss');
    const text = await run('list');
    expect(text.out).toMatch(/rotation\s+image\s+Rotation prediction/);
  });
});

describe('ssl pretrain --help', () => {
  it('shows the catalogue’s default method', async () => {
    const r = await run('pretrain', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--method NAME\s+pretext task \(see `ssl list`\); default autoencoder\n/);
  });
});

describe('ssl errors: one line naming the value and the fix', () => {
  it('unknown method', async () => {
    expectOneLineError(await run('pretrain', '--method', 'rotaton'), /Unknown method "rotaton". Must be one of \[.*rotation.*\]/);
  });
  it('misspelled --set key', async () => {
    expectOneLineError(await run('pretrain', '--method', 'rotation', '--set', 'lrr=0.1'), /Unknown --set key "lrr".*Must be one of \[.*\blr\b.*\]/);
  });
  it('bad --set value', async () => {
    expectOneLineError(await run('pretrain', '--set', 'optimizer=adamw'), /field "optimizer" = "adamw": must be one of \[adam, sgd\]/);
  });
  it('--epochs -1', async () => {
    expectOneLineError(await run('pretrain', '--epochs', '-1'), /field "epochs" = -1/);
  });
  it('--epochs not a number', async () => {
    expectOneLineError(await run('pretrain', '--epochs', 'many'), /Invalid --epochs "many": must be a number/);
  });
  it('unknown flag and unknown command', async () => {
    expectOneLineError(await run('pretrain', '--epoch', '3'), /Unknown option "--epoch".*--epochs/);
    expectOneLineError(await run('pretrian'), /Unknown command "pretrian". Must be one of \[list, pretrain, eval, train, compare, worker\]/);
  });
  it('a method and a dataset of different modalities, or an unknown dataset', async () => {
    const out = tmp('ssl-modality-');
    expectOneLineError(
      await run('pretrain', '--method', 'tcn', '--dataset', 'mnist', '--out', out),
      /Method "tcn" trains on sequence data but dataset "mnist" is image data\. Pick a sequence dataset \(one of \[moving-mnist, sensors\]\)/,
    );
    expectOneLineError(
      await run('pretrain', '--dataset', 'cifar', '--out', out),
      /Unknown dataset "cifar". Must be one of \[mnist, fashion-mnist, imagefolder:PATH/,
    );
  });
  it('missing data path', async () => {
    expectOneLineError(await run('pretrain', '--dataset', 'imagefolder:/no/such/folder', '--epochs', '1'), /\/no\/such\/folder/);
    expectOneLineError(await run('pretrain', '--dataset', 'fashion-mnist', '--data-dir', '/no/such/dir', '--epochs', '1'), /\/no\/such\/dir/);
  });
  it('truncated IDX file names the file and both sizes', async () => {
    const dir = tmp('ssl-trunc-');
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x00000803, 0);
    header.writeUInt32BE(60000, 4);
    header.writeUInt32BE(28, 8);
    header.writeUInt32BE(28, 12);
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(1000)]));
    const labels = Buffer.alloc(8 + 60000);
    labels.writeUInt32BE(0x00000801, 0);
    labels.writeUInt32BE(60000, 4);
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), labels);
    expectOneLineError(await run('pretrain', '--dataset', 'fashion-mnist', '--data-dir', dir, '--epochs', '1'), /train-images-idx3-ubyte.*47040000.*1000/);
  });
  it('a run directory that is not one', async () => {
    expectOneLineError(await run('eval', '--run', tmp('ssl-notrun-')), /is not an ssl run directory \(no config.json\)/);
  });
  it('unknown backend', async () => {
    expectOneLineError(await run('pretrain', '--backend', 'webgpu', '--epochs', '1'), /Unsupported backend "webgpu". Must be one of \[tensorflow, wasm, cpu\]/);
  });
});

describe('ssl pretrain and eval end to end (tiny budget, real MNIST)', () => {
  it('writes a complete run directory and prints probe vs random init as JSON', async () => {
    const out = path.join(tmp('ssl-e2e-'), 'run');
    const r = await run(
      'pretrain',
      '--method',
      'rotation',
      '--limit',
      '128',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--seed',
      '3',
      '--out',
      out,
      '--json',
      '--set',
      'probe.trainLimit=300',
      '--set',
      'probe.testLimit=200',
      '--set',
      'probe.epochs=5',
    );
    expect(r.err).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of ['probeAccuracy', 'randomInitProbeAccuracy', 'method', 'backend', 'seconds']) expect(res).toHaveProperty(k);
    expect(res.method).toBe('rotation');
    expect(res.probeAccuracy as number).toBeGreaterThan(0.2);
    expect(r.err).toMatch(/backend: (wasm|cpu|tensorflow)/);
    for (const f of ['config.json', 'metrics.jsonl', 'checkpoint.ckpt', 'encoder/model.json', 'encoder/weights.bin', 'report.html', 'results.json']) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.seed).toBe(3);
    expect(cfg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(4);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');

    const ev = await run('eval', '--run', out, '--protocol', 'knn', '--json');
    expect(ev.code).toBe(0);
    const e = JSON.parse(ev.out) as Record<string, number>;
    expect(e.accuracy).toBeGreaterThan(0.2);
    expect(e).toHaveProperty('randomInitAccuracy');

    const few = await run('eval', '--run', out, '--protocol', 'knn', '--labels', '10%', '--json');
    const k = JSON.parse(few.out) as Record<string, number>;
    expect(k.labels).toBeCloseTo(0.1);
    expect(k.accuracy).toBeGreaterThan(0.2);

    const ft = await run('eval', '--run', out, '--protocol', 'finetune', '--epochs', '8', '--json');
    expect(ft.err).not.toMatch(/^error/m);
    const f = JSON.parse(ft.out) as Record<string, number>;
    // 300 labelled images, 32 steps of end-to-end training: well above chance (10 % ± 2 % on 200 images).
    expect(f.accuracy).toBeGreaterThan(0.25);
    expectOneLineError(await run('eval', '--run', out, '--protocol', 'finetune', '--epochs', '0'), /Invalid --epochs 0/);
    expectOneLineError(await run('eval', '--run', out, '--protocol', 'svm'), /Unknown protocol "svm". Must be one of \[.*finetune, knn, linear.*\]/);
    expectOneLineError(await run('eval', '--run', out, '--labels', '0%'), /Invalid label fraction "0%"/);
  });
});

describe('the built bin', () => {
  it('runs `ssl list --json` as a real process', () => {
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bin.js');
    expect(existsSync(bin), 'run `npm run build` first (npm test does)').toBe(true);
    const stdout = execFileSync(process.execPath, [bin, 'list', '--json'], { encoding: 'utf8' });
    const listed = JSON.parse(stdout) as {
      methods: unknown[];
      datasets: Array<{ name: string }>;
      protocols: Array<{ name: string }>;
      encoders: Array<{ name: string }>;
    };
    expect(listed.methods.length).toBeGreaterThanOrEqual(2);
    // Registered explicitly, so the bundle cannot drop them (they once vanished with sideEffects: false).
    expect(listed.datasets.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'mnist',
        'fashion-mnist',
        'imagefolder:PATH',
        'moving-mnist',
        'sensors',
        'cora:PATH',
        'sotu',
        'moby-dick',
        'brown',
        'spam',
        'textdir:PATH',
      ]),
    );
    expect(listed.protocols.map((p) => p.name)).toEqual(expect.arrayContaining(['linear', 'knn', 'finetune', 'multi-label', 'balanced-accuracy', 'few-shot']));
    expect(listed.encoders.map((e) => e.name)).toEqual(expect.arrayContaining(['mlp', 'convnet', 'gcn', 'transformer']));
  });
});

describe('--set keys are namespaced', () => {
  it("task.momentum sets MoCo's momentum in config.json; the bare ambiguous key is refused naming both", async () => {
    const out = path.join(tmp('ssl-moco-'), 'run');
    const r = await run(
      'pretrain',
      '--method',
      'moco',
      '--limit',
      '64',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--encoder',
      'mlp',
      '--out',
      out,
      '--json',
      '--set',
      'task.momentum=0.999',
      '--set',
      'encoder.hidden=[16]',
      '--set',
      'encoder.outputDim=8',
      '--set',
      'probe.trainLimit=50',
      '--set',
      'probe.testLimit=50',
      '--set',
      'probe.epochs=1',
    );
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.taskConfig.momentum).toBe(0.999);
    expect(cfg.trainer.momentum).not.toBe(0.999);
    expect(cfg.encoderConfig.hidden).toEqual([16]);
    expectOneLineError(
      await run('pretrain', '--method', 'moco', '--set', 'momentum=0.999'),
      /--set momentum is ambiguous: use trainer\.momentum or task\.momentum/,
    );
  });

  it('ssl list shows the key that works (task.momentum for MoCo)', async () => {
    const r = await run('list');
    expect(r.out).toMatch(/--set task\.momentum=0\.99\b/);
  });
});
