import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures/fault-child.mjs');
const dist = path.join(here, '../../dist/index.js');

type Kill = { kind: 'write'; n: number; part: number } | { kind: 'rename'; n: number } | { kind: 'timer'; ms: number } | { kind?: undefined };

function run(dir: string, mode: 'fresh' | 'resume', kill: Kill): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [child, dir, mode, JSON.stringify(kill)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

// 3 epochs × 6 steps, a checkpoint after every step (18 writes; a write is a head, the header, padding and 20 tensors).
describe('fault injection: SIGKILL at seeded random moments, then --resume', () => {
  it('21+ kills (inside checkpoint writes, right after renames, anywhere) and every resumed run ends byte-identical', { timeout: 240_000 }, async () => {
    expect(existsSync(dist), 'build @ssl/core first (npm run build)').toBe(true);
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-fault-'));
    const ref = path.join(root, 'ref');
    mkdirSync(ref);
    const base = await run(ref, 'fresh', {});
    expect(base.code, base.stderr).toBe(0);
    const want = { weights: readFileSync(path.join(ref, 'weights.f32')), metrics: readFileSync(path.join(ref, 'metrics.jsonl'), 'utf8') };

    const rng = new Rng(2026);
    const kinds: string[] = [];
    // 3 chains: 7 kills at seeded moments inside checkpoint writes (after 1..12 of a write's parts) or
    // right after a checkpoint's rename (during the next steps), each moving a chain on by at most 2 of
    // the 18 steps, so every one of them lands; then one kill after a seeded delay (anywhere); then a final resume.
    await Promise.all(
      [0, 1, 2].map(async (chain) => {
        const dir = path.join(root, `chain${chain}`);
        mkdirSync(dir);
        const plan: Kill[] = Array.from({ length: 8 }, (_, i): Kill => {
          // n counts this process's checkpoint writes (each resumed process starts at 1).
          if (i === 7) return { kind: 'timer', ms: 200 + rng.int(2000) };
          return (i + chain) % 2 === 0 ? { kind: 'write', n: 1 + rng.int(2), part: 1 + rng.int(12) } : { kind: 'rename', n: 1 + rng.int(2) };
        });
        for (const [i, kill] of plan.entries()) {
          const mode = i === 0 || !existsSync(path.join(dir, 'checkpoint.ckpt')) ? 'fresh' : 'resume';
          const r = await run(dir, mode, kill);
          if (r.signal === 'SIGKILL') kinds.push(kill.kind!);
          else expect(r.code, r.stderr).toBe(0); // a timer past the end of training: the run finished
        }
        const last = await run(dir, existsSync(path.join(dir, 'checkpoint.ckpt')) ? 'resume' : 'fresh', {});
        expect(last.code, last.stderr).toBe(0);
        // No temp file of a killed writer survives a restart.
        expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
        expect(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).toBe(want.metrics);
        expect(readFileSync(path.join(dir, 'weights.f32')).equals(want.weights)).toBe(true);
      }),
    );
    expect(kinds.filter((k) => k !== 'timer').length).toBe(21);
    expect(kinds.filter((k) => k === 'write').length).toBeGreaterThanOrEqual(10);
  });
});
