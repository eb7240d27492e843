import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/threads-child.mjs');

/** Runs the fixture through the built @ssl/core with `threads` threads; it must exit by itself. */
function run(threads: number): { threads: number; simd: number; lines: string[]; hashes: string[]; relDiff: number[] } {
  const r = spawnSync(process.execPath, [child, String(threads)], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, SSL_QUIET: '1' } });
  expect(r.signal, 'the child did not exit by itself (idle pool threads kept it alive?)').toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('wasm threads (XNNPACK pool)', () => {
  it('runs on the threads asked for, agrees with cpu, and gives bit-identical results on 1 and 2 threads', () => {
    const one = run(1);
    const two = run(2);
    const again = run(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    // Our SIMD kernels run on as many threads (one helper thread beside this one).
    expect(one.simd).toBe(1);
    expect(two.simd).toBe(2);
    expect(two.lines).toEqual(['backend: wasm (forced), 2 threads']);
    // Conv forward (fused, strided), input and filter gradients (through max-pool too), AᵀB,
    // a first layer's filter gradient, a sum over N, H, W, and batch norm's per-channel
    // broadcasts and mean, and its fused centred sums and affine pass.
    expect(two.hashes).toHaveLength(12);
    for (const d of two.relDiff) expect(d).toBeLessThan(1e-4);
    expect(two.hashes).toEqual(one.hashes);
    expect(again.hashes).toEqual(two.hashes);
  });

  it('keeps the thread count it started with and says so; rejects an invalid count in one line', async () => {
    await initBackend({ backend: 'wasm', threads: 1 });
    const lines: string[] = [];
    const info = await initBackend({ backend: 'wasm', threads: 2, log: (l) => lines.push(l) });
    expect(info.threads).toBe(1);
    expect(lines).toEqual([
      'wasm keeps 1 thread: its thread pool is fixed when the backend starts (set SSL_THREADS before the first run)',
      'backend: wasm (forced), 1 thread',
    ]);
    await expect(initBackend({ backend: 'wasm', threads: 0 })).rejects.toThrow(
      /^Invalid thread count 0 \(--threads \/ SSL_THREADS\)\. Must be an integer from 1 to 256/,
    );
  });
});
