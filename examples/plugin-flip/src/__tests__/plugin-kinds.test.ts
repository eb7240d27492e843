import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '@ssl/cli';
import { describe, expect, it } from 'vitest';
import { nearestMeanAccuracy } from '../more';

const here = path.dirname(fileURLToPath(import.meta.url));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(['--plugin', path.resolve(here, '../index.ts'), ...argv], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('nearest-mean protocol', () => {
  it('matches a hand computation', () => {
    // Class means: c0 = (0, 0), c1 = (2, 2). Test (0.9, 0.9) → c0 (d² 1.62 < 2.42); (1.1, 1.2) → c1; (2, 0) is equidistant (4 = 4), first class wins → c0, labelled 1: wrong.
    const train = { features: Float32Array.of(0, 0, 0, 0, 2, 2, 2, 2), n: 4, dim: 2, labels: Int32Array.of(0, 0, 1, 1) };
    const test = { features: Float32Array.of(0.9, 0.9, 1.1, 1.2, 2, 0), n: 3, dim: 2, labels: Int32Array.of(0, 1, 1) };
    expect(nearestMeanAccuracy(train, test)).toBeCloseTo(2 / 3, 10);
  });
});

describe('one --plugin adds a task, a dataset, a protocol and an encoder', () => {
  it('ssl list shows all four', async () => {
    const r = await run('list', '--json');
    expect(r.code, r.err).toBe(0);
    const l = JSON.parse(r.out) as Record<'methods' | 'datasets' | 'protocols' | 'encoders', Array<{ name: string }>>;
    expect(l.methods.map((m) => m.name)).toContain('flip-prediction');
    expect(l.datasets.map((d) => d.name)).toContain('stripes');
    expect(l.protocols.map((p) => p.name)).toContain('nearest-mean');
    expect(l.encoders.map((e) => e.name)).toContain('tiny-dense');
  });

  it('pretrains on the plugin dataset with the plugin encoder, then evaluates with the plugin protocol', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'ssl-plugin-kinds-')), 'run');
    const r = await run(
      'pretrain',
      '--method',
      'flip-prediction',
      '--dataset',
      'stripes',
      '--limit',
      '64',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--out',
      out,
      '--json',
      '--set',
      'encoder.units=8',
      '--set',
      'probe.epochs=5',
    );
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { dataset: string; encoder: string; steps: number; probeAccuracy: number };
    expect([res.dataset, res.encoder, res.steps]).toEqual(['stripes', 'tiny-dense', 2]);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).encoderConfig).toEqual({ units: 8 });
    const ev = await run('eval', '--run', out, '--protocol', 'nearest-mean', '--json');
    expect(ev.code, ev.err).toBe(0);
    const e = JSON.parse(ev.out) as { protocol: string; metric: string; accuracy: number; randomInitAccuracy: number };
    expect([e.protocol, e.metric]).toEqual(['nearest-mean', 'nearest class mean top-1']);
    // The two classes' mean images differ (stripes on different rows vs columns): class means on 8 ReLU features separate them.
    expect(e.accuracy).toBeGreaterThan(0.8);
    expect(Number.isFinite(e.randomInitAccuracy)).toBe(true);
  });
});
