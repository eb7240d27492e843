import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { main, type Io } from '@ssl/cli';
import { createRegistry, initBackend, train } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { extractFeatures, linearProbe } from '@ssl/eval';
import { describe, expect, it } from 'vitest';
import plugin, { flipTask } from '../index';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

describe('the plugin example through the API', () => {
  it('registers, trains (loss falls, memory flat) and its encoder is probed', async () => {
    await initBackend();
    const registry = createRegistry().use(plugin);
    expect(registry.get('flip-prediction')).toBe(flipTask);
    const encoder = createConvNet({ widths: [8, 16, 32], seed: 0 });
    const source = loadMnist('train', { limit: 512 });
    const before = tf.memory().numTensors;
    const result = await train({ task: flipTask, encoder, source, config: { epochs: 3, batchSize: 64, lr: 3e-3, seed: 0 } });
    const losses = result.history.map((h) => h.loss);
    expect(losses).toHaveLength(24);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Chance is ln 2 = 0.693; the last epoch must be clearly below the first.
    expect(mean(losses.slice(-8))).toBeLessThan(mean(losses.slice(0, 8)) - 0.05);
    for (const h of Object.values(result.heads)) h.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const probe = await linearProbe(await extractFeatures(encoder, source), await extractFeatures(encoder, loadMnist('test', { limit: 300 })), {
      epochs: 20,
      seed: 0,
    });
    expect(probe.accuracy).toBeGreaterThan(0.3);
    encoder.dispose();
  });
});

describe('the plugin example through the CLI', () => {
  const io = (out: string[], err: string[]): Io => ({ out: (l) => out.push(l), err: (l) => err.push(l) });

  it('--plugin adds the task to `ssl list` (from source)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['--plugin', path.resolve(here, '../index.ts'), 'list', '--json'], io(out, err));
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    const { methods } = JSON.parse(out.join('\n')) as { methods: Array<{ name: string; config: Array<{ name: string; default: unknown }> }> };
    expect(methods.find((m) => m.name === 'flip-prediction')?.config).toEqual([expect.objectContaining({ name: 'probability', default: 0.5 })]);
  });

  it('a bad --plugin names the module and the fix', async () => {
    const err: string[] = [];
    expect(await main(['--plugin', './no/such/plugin.js', 'list'], io([], err))).not.toBe(0);
    expect(err.join('\n')).toMatch(/--plugin "\.\/no\/such\/plugin\.js" could not be imported.*built JavaScript module/);
    const err2: string[] = [];
    expect(await main(['--plugin', 'zod', 'list'], io([], err2))).not.toBe(0);
    expect(err2.join('\n')).toMatch(/--plugin "zod" does not export tasks, datasets, protocols or encoders: A plugin must be/);
  });

  it('the built `ssl` binary pretrains and evaluates the built plugin', () => {
    const bin = path.join(root, 'packages/cli/dist/bin.js');
    const built = path.join(root, 'examples/plugin-flip/dist/index.js');
    expect(existsSync(bin) && existsSync(built), 'run `npm run build` first (npm test does)').toBe(true);
    const out = path.join(tmp('ssl-plugin-'), 'run');
    const env = { ...process.env, SSL_QUIET: '1' };
    const stdout = execFileSync(
      process.execPath,
      [
        bin,
        '--plugin',
        built,
        'pretrain',
        '--method',
        'flip-prediction',
        '--limit',
        '256',
        '--epochs',
        '1',
        '--out',
        out,
        '--json',
        '--set',
        'probe.trainLimit=300',
        '--set',
        'probe.testLimit=200',
        '--set',
        'probe.epochs=5',
      ],
      { encoding: 'utf8', env },
    );
    const res = JSON.parse(stdout) as { method: string; probeAccuracy: number; randomInitProbeAccuracy: number };
    expect(res.method).toBe('flip-prediction');
    expect(res.probeAccuracy).toBeGreaterThan(0.2);
    expect(Number.isFinite(res.randomInitProbeAccuracy)).toBe(true);
    const ev = JSON.parse(
      execFileSync(process.execPath, [bin, '--plugin', built, 'eval', '--run', out, '--protocol', 'knn', '--json'], { encoding: 'utf8', env }),
    ) as { accuracy: number };
    expect(ev.accuracy).toBeGreaterThan(0.2);
  });
});
