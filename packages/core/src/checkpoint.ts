import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError } from './errors';

const MAGIC = 'SSLCKPT1';

/** One tensor stored in a checkpoint. */
export interface StoredTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A checkpoint: JSON metadata plus named float32 tensors, in one file. */
export interface CheckpointData<M = Record<string, unknown>> {
  meta: M;
  tensors: StoredTensor[];
}

/**
 * Writes a checkpoint atomically: a temp file beside the target, fsync, then rename, so a
 * crash mid-write leaves the previous checkpoint intact.
 *
 * @example
 * await writeCheckpoint('runs/x/checkpoint.ckpt', { meta: { step: 10 }, tensors });
 */
export async function writeCheckpoint(file: string, ckpt: CheckpointData<unknown>): Promise<void> {
  let offset = 0;
  const specs = ckpt.tensors.map((t) => {
    const spec = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length * 4;
    return spec;
  });
  const header = Buffer.from(JSON.stringify({ meta: ckpt.meta, tensors: specs }), 'utf8');
  const pad = (4 - ((MAGIC.length + 4 + header.length) % 4)) % 4;
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32LE(header.length + pad, MAGIC.length);
  const parts: Uint8Array[] = [head, header, Buffer.alloc(pad, 0x20)];
  for (const t of ckpt.tensors) parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const p of parts) await fh.write(p);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

/** Reads a checkpoint written by {@link writeCheckpoint}; errors name the file and what is wrong. */
export async function readCheckpoint<M = Record<string, unknown>>(file: string): Promise<CheckpointData<M>> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch {
    throw new SslError(`No checkpoint at "${file}". Start without --resume, or point --out at a run directory that has one.`);
  }
  if (buf.length < MAGIC.length + 4 || buf.toString('ascii', 0, MAGIC.length) !== MAGIC) {
    throw new SslError(`"${file}" is not an @ssl checkpoint (bad header). Delete it and start without --resume.`);
  }
  const hlen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const parsed = JSON.parse(buf.toString('utf8', start, start + hlen)) as {
    meta: M;
    tensors: Array<{ name: string; shape: number[]; offset: number; length: number }>;
  };
  const dataStart = start + hlen;
  const tensors = parsed.tensors.map((s) => {
    const begin = dataStart + s.offset;
    const end = begin + s.length * 4;
    if (end > buf.length) {
      throw new SslError(`Checkpoint "${file}" is truncated: tensor ${s.name} needs bytes up to ${end}, file has ${buf.length}. Delete it and start without --resume.`);
    }
    const data = new Float32Array(s.length);
    new Uint8Array(data.buffer).set(buf.subarray(begin, end));
    return { name: s.name, shape: s.shape, data };
  });
  return { meta: parsed.meta, tensors };
}
