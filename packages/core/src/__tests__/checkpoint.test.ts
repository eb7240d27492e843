import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint } from '../checkpoint';

describe('checkpoints', () => {
  it('round-trips metadata and tensors exactly, leaving no temp file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-ckpt-'));
    const file = path.join(dir, 'checkpoint.ckpt');
    const a = new Float32Array([1.5, -2, 3e-8]);
    const b = new Float32Array([Math.PI]);
    await writeCheckpoint(file, {
      meta: { step: 7, note: 'x' },
      tensors: [
        { name: 'a', shape: [3], data: a },
        { name: 'b', shape: [1, 1], data: b },
      ],
    });
    const r = await readCheckpoint<{ step: number }>(file);
    expect(r.meta.step).toBe(7);
    expect([...r.tensors[0]!.data]).toEqual([...a]);
    expect(r.tensors[1]!.shape).toEqual([1, 1]);
    expect([...r.tensors[1]!.data]).toEqual([...b]);
    expect(readdirSync(dir)).toEqual(['checkpoint.ckpt']);
  });

  it('names the file when it is missing, foreign or truncated', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-ckpt-'));
    await expect(readCheckpoint(path.join(dir, 'none.ckpt'))).rejects.toThrow(/No checkpoint at ".*none.ckpt"/);
    const foreign = path.join(dir, 'foreign.ckpt');
    writeFileSync(foreign, 'hello world, not a checkpoint');
    await expect(readCheckpoint(foreign)).rejects.toThrow(/not an @ssl checkpoint/);
    const file = path.join(dir, 'c.ckpt');
    await writeCheckpoint(file, { meta: {}, tensors: [{ name: 'w', shape: [100], data: new Float32Array(100) }] });
    const full = readFileSync(file);
    writeFileSync(file, full.subarray(0, full.length - 40));
    await expect(readCheckpoint(file)).rejects.toThrow(/truncated: tensor w/);
  });
});
