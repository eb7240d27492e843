import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initBackend } from '../backend';
import { readCheckpoint, removeStaleTempFiles, writeCheckpoint } from '../checkpoint';
import { definePretextTask } from '../registry';
import { applyResumeChanges, openRunDir } from '../rundir';
import { train } from '../trainer';
import type { DataSource, ImageBatch } from '../types';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

async function sampleCheckpoint(file: string, n = 100_000) {
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  await writeCheckpoint(file, { meta: { step: 3, note: 'x' }, tensors: [{ name: 'w', shape: [n], data }] });
}

describe('checkpoint integrity', () => {
  it('a zeroed region inside the tensors (same size) is an error naming the file', async () => {
    const file = path.join(tmp('ssl-ck-'), 'checkpoint.ckpt');
    await sampleCheckpoint(file);
    const buf = readFileSync(file);
    buf.fill(0, 200_000, 300_000);
    writeFileSync(file, buf);
    await expect(readCheckpoint(file)).rejects.toThrow(
      new RegExp(`Checkpoint "${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is damaged: its sha256 does not match`),
    );
  });

  it('one flipped bit in the header JSON is caught too', async () => {
    const file = path.join(tmp('ssl-ck-'), 'checkpoint.ckpt');
    await sampleCheckpoint(file, 10);
    const buf = readFileSync(file);
    const at = buf.indexOf('"step":3');
    buf[at + 7] = '4'.charCodeAt(0);
    writeFileSync(file, buf);
    await expect(readCheckpoint(file)).rejects.toThrow(/is damaged: its sha256/);
  });

  it('a file truncated inside its header is one line naming the file (no raw JSON error)', async () => {
    const file = path.join(tmp('ssl-ck-'), 'checkpoint.ckpt');
    await sampleCheckpoint(file, 10);
    writeFileSync(file, readFileSync(file).subarray(0, 60));
    const err = (await readCheckpoint(file).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/checkpoint.ckpt" is damaged: truncated inside its header/);
    expect(err.message).not.toMatch(/Unterminated|\n/);
  });

  it('still reads version-1 checkpoints (no checksum) written before this format', async () => {
    const file = path.join(tmp('ssl-ck-'), 'old.ckpt');
    const header = Buffer.from(JSON.stringify({ meta: { step: 1 }, tensors: [{ name: 'a', shape: [2], offset: 0, length: 2 }] }));
    const pad = (4 - ((12 + header.length) % 4)) % 4;
    const head = Buffer.alloc(12);
    head.write('SSLCKPT1', 0, 'ascii');
    head.writeUInt32LE(header.length + pad, 8);
    writeFileSync(file, Buffer.concat([head, header, Buffer.alloc(pad, 0x20), Buffer.from(new Float32Array([1.5, -2]).buffer)]));
    const r = await readCheckpoint<{ step: number }>(file);
    expect(r.meta.step).toBe(1);
    expect([...r.tensors[0]!.data]).toEqual([1.5, -2]);
  });

  it('removes temp files of dead writers and keeps those of live ones', async () => {
    const dir = tmp('ssl-ck-');
    const file = path.join(dir, 'checkpoint.ckpt');
    // A PID that certainly ran and exited: a finished child process.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(`${file}.tmp-${dead}`, 'half');
    writeFileSync(`${file}.tmp-${process.ppid}`, 'live');
    writeFileSync(path.join(dir, 'other.tmp-1'), 'not ours');
    expect(await removeStaleTempFiles(file)).toEqual([`checkpoint.ckpt.tmp-${dead}`]);
    expect(readdirSync(dir).sort()).toEqual([`checkpoint.ckpt.tmp-${process.ppid}`, 'other.tmp-1'].sort());
  });
});

describe('openRunDir never clobbers', () => {
  it('refuses an existing run without --resume (naming --resume and --force) and leaves it intact', async () => {
    const dir = tmp('ssl-rd-');
    writeFileSync(path.join(dir, 'config.json'), '{"x":1}');
    writeFileSync(path.join(dir, 'checkpoint.ckpt'), 'ck');
    await expect(openRunDir({ dir })).rejects.toThrow(/already holds a run\. Continue it with --resume, pass --force to overwrite it/);
    await expect(openRunDir({ dir, resumable: false })).rejects.toThrow(/already holds a run; pass --force/);
    expect(readFileSync(path.join(dir, 'checkpoint.ckpt'), 'utf8')).toBe('ck');
    expect((await openRunDir({ dir, resume: true })).mode).toBe('resume');
    const forced = await openRunDir({ dir, force: true });
    expect(forced.mode).toBe('overwrite');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a non-empty folder that is not a run; accepts an empty or new one', async () => {
    const dir = tmp('ssl-rd-');
    writeFileSync(path.join(dir, 'thesis.tex'), 'precious');
    await expect(openRunDir({ dir })).rejects.toThrow(/is not empty and not an ssl run \(thesis.tex\); pass --force/);
    await expect(openRunDir({ dir, resume: true })).rejects.toThrow(/holds no run \(no config.json\)\. Drop --resume/);
    expect((await openRunDir({ dir: tmp('ssl-rd-') })).mode).toBe('new');
    const fresh = path.join(tmp('ssl-rd-'), 'a', 'b');
    expect((await openRunDir({ dir: fresh })).mode).toBe('new');
    expect(existsSync(fresh)).toBe(true);
  });

  it('a file in the way or a read-only parent is one clear line, not EEXIST/EACCES', async () => {
    const root = tmp('ssl-rd-');
    const file = path.join(root, 'f');
    writeFileSync(file, 'x');
    await expect(openRunDir({ dir: file })).rejects.toThrow(/^--out ".*f" is a file, not a folder\. Pick another --out folder\.$/);
    await expect(openRunDir({ dir: path.join(file, 'sub') })).rejects.toThrow(/a file \(not a folder\) is in the way/);
    const ro = path.join(root, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot)
      await expect(openRunDir({ dir: path.join(ro, 'run') })).rejects.toThrow(
        /cannot be written \(EACCES: no permission or read-only disk\)\. Pick a writable --out/,
      );
    chmodSync(ro, 0o755);
  });

  it('removes stale checkpoint temp files when opening a run', async () => {
    const dir = tmp('ssl-rd-');
    writeFileSync(path.join(dir, 'config.json'), '{}');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(path.join(dir, `checkpoint.ckpt.tmp-${dead}`), 'half');
    expect((await openRunDir({ dir, resume: true })).removedTemps).toEqual([`checkpoint.ckpt.tmp-${dead}`]);
  });
});

describe('applyResumeChanges', () => {
  const saved = { method: 'rotation', trainer: { epochs: 3, lr: 0.1, seed: 0 }, probe: { epochs: 30 } };
  const mutable = ['trainer.epochs', 'trainer.lr', 'probe.*'];
  it('applies allowed changes, records them, and ignores values equal to the saved ones', () => {
    const r = applyResumeChanges(saved, { 'trainer.epochs': 5, 'trainer.lr': 0.001, 'trainer.seed': 0, 'probe.epochs': 10, method: 'rotation' }, mutable);
    expect(r.config.trainer).toEqual({ epochs: 5, lr: 0.001, seed: 0 });
    expect(r.config.probe).toEqual({ epochs: 10 });
    expect(saved.trainer.epochs).toBe(3);
    expect(r.changed).toEqual([
      { key: 'trainer.epochs', from: 3, to: 5 },
      { key: 'trainer.lr', from: 0.1, to: 0.001 },
      { key: 'probe.epochs', from: 30, to: 10 },
    ]);
  });
  it('refuses the others by name', () => {
    expect(() => applyResumeChanges(saved, { method: 'simclr' }, mutable)).toThrow(/--resume cannot change method \("rotation" → "simclr"\).*Drop that flag/);
    expect(() => applyResumeChanges(saved, { 'trainer.seed': 4 }, mutable)).toThrow(/cannot change trainer.seed \(0 → 4\)/);
  });
});

// 8×8 grey images; from batch `poisonFrom` on, values of 1e20 make batch-norm's variance overflow
// to Infinity while the normalised activations (and so the loss) stay finite.
function imageSource(n: number, state: { calls: number; poisonFrom: number }): DataSource<ImageBatch> {
  return {
    modality: 'image',
    size: n,
    batch(indices) {
      const scale = state.calls++ >= state.poisonFrom ? 1e20 : 1;
      const images = Float32Array.from({ length: indices.length * 64 }, (_, i) => scale * (((indices[Math.floor(i / 64)]! * 7 + i) % 13) / 13));
      return { modality: 'image', images, n: indices.length, height: 8, width: 8, channels: 1, indices };
    },
  };
}

const meanTask = definePretextTask({
  name: 'toy-mean',
  family: 'context',
  modality: 'image',
  title: 'Toy',
  paper: 'test',
  description: 'test',
  config: z.object({}).strict(),
  createHeads: () => ({}),
  prepare: (raw) => ({ x: tf.tensor4d(raw.images, [raw.n, 8, 8, 1]) }),
  loss: ({ encode, batch }) => tf.mean(tf.square(tf.sub(encode(batch.x), 0.5))) as tf.Scalar,
});

function bnEncoder(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers
    .conv2d({ filters: 2, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

describe('the divergence guard', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('fires on non-finite weights or statistics with a finite loss, keeps the last finite checkpoint, and its fix works', async () => {
    const dir = tmp('ssl-guard-');
    const config = { epochs: 2, batchSize: 8, seed: 1, checkpointEvery: 1, optimizer: 'sgd' as const, lr: 0.01 };
    const state = { calls: 0, poisonFrom: 2 };
    const err = (await train({ task: meanTask, encoder: bnEncoder(), source: imageSource(32, state), config, runDir: dir }).catch((e: Error) => e)) as Error & {
      exitCode: number;
    };
    expect(err.message).toMatch(
      /^Tensor model\/\d+\/\S+ became (NaN|Infinity) at epoch 1, step 3 .*the last finite checkpoint \(step 2\) is kept in .*checkpoint.ckpt\. Lower the learning rate and continue from it with --resume --set lr=0\.001/,
    );
    expect(err.exitCode).toBe(3);
    const ckpt = await readCheckpoint<{ globalStep: number }>(path.join(dir, 'checkpoint.ckpt'));
    expect(ckpt.meta.globalStep).toBe(2);
    expect(ckpt.tensors.every((t) => t.data.every(Number.isFinite))).toBe(true);
    // The proposed fix: resume from the kept checkpoint (here with clean data) and finish.
    const enc = bnEncoder();
    const r = await train({
      task: meanTask,
      encoder: enc,
      source: imageSource(32, { calls: 0, poisonFrom: Infinity }),
      config: { ...config, lr: 0.001 },
      runDir: dir,
      resume: true,
    });
    expect(r.steps).toBe(8);
    for (const w of enc.weights) expect((await w.read().data()).every(Number.isFinite)).toBe(true);
  });

  it('when the kept checkpoint had already exploded (loss 100× the first), it proposes starting again, not resuming', async () => {
    const dir = tmp('ssl-guard-');
    let calls = 0;
    // The loss explodes at step 2 (×1e6, still finite), batch-norm statistics overflow at step 3.
    const exploding = {
      ...meanTask,
      name: 'toy-explode',
      loss: (ctx: Parameters<typeof meanTask.loss>[0]) => tf.mul(meanTask.loss(ctx), calls++ === 2 ? 1e6 : 1) as tf.Scalar,
    };
    const config = { epochs: 2, batchSize: 8, seed: 1, checkpointEvery: 1, optimizer: 'sgd' as const, lr: 0.01 };
    const err = (await train({ task: exploding, encoder: bnEncoder(), source: imageSource(32, { calls: 0, poisonFrom: 3 }), config, runDir: dir }).catch(
      (e: Error) => e,
    )) as Error;
    expect(err.message).toMatch(
      /became (NaN|Infinity) at epoch 1, step 4 .*the last finite checkpoint \(step 3\) is kept in .*, but its loss \S+ was already far above the first step's \S+, so resuming it would diverge again\. Lower the learning rate and start again with --force --set lr=0\.001/,
    );
  });
});
