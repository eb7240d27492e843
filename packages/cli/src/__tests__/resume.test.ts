import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bin.js');
const budget = [
  '--method',
  'rotation',
  '--limit',
  '128',
  '--epochs',
  '3',
  '--batch-size',
  '32',
  '--seed',
  '5',
  '--json',
  '--set',
  'checkpointEvery=1',
  '--set',
  'probe.trainLimit=200',
  '--set',
  'probe.testLimit=100',
  '--set',
  'probe.epochs=3',
];

function runBin(
  args: string[],
  onMetrics?: (lines: number, kill: () => void) => void,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, SSL_QUIET: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const out = args[args.indexOf('--out') + 1]!;
    const timer = onMetrics
      ? setInterval(() => {
          const f = path.join(out, 'metrics.jsonl');
          const lines = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
          onMetrics(lines, () => child.kill('SIGKILL'));
        }, 10)
      : undefined;
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout });
    });
  });
}

describe('kill and resume (real process, tiny budget)', () => {
  it('a run killed mid-epoch and resumed ends with the same metrics as an uninterrupted run', async () => {
    expect(existsSync(bin), 'run `npm run build` first (npm test does)').toBe(true);
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-kill-'));
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    const full = await runBin(['pretrain', ...budget, '--out', a]);
    expect(full.code).toBe(0);

    // 4 steps per epoch: kill once step 6 (mid-epoch 2) is logged.
    const killed = await runBin(['pretrain', ...budget, '--out', b], (lines, kill) => lines >= 6 && kill());
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(path.join(b, 'results.json'))).toBe(false);

    const resumed = await runBin(['pretrain', '--resume', '--out', b, '--json']);
    expect(resumed.code).toBe(0);
    const ra = JSON.parse(readFileSync(path.join(a, 'results.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(path.join(b, 'results.json'), 'utf8'));
    for (const k of ['steps', 'finalLoss', 'probeAccuracy', 'randomInitProbeAccuracy', 'knnAccuracy']) expect(rb[k], k).toBe(ra[k]);
    expect(readFileSync(path.join(b, 'metrics.jsonl'), 'utf8')).toBe(readFileSync(path.join(a, 'metrics.jsonl'), 'utf8'));
    expect(readFileSync(path.join(b, 'encoder/weights.bin'))).toEqual(readFileSync(path.join(a, 'encoder/weights.bin')));
  });
});
