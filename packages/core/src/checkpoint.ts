import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError } from './errors';

// v1: MAGIC, u32 header length, header JSON, tensor bytes. v2 adds a sha256 of everything after
// the fixed prefix (header and tensors) right after the length, so damage that keeps the size is caught.
const MAGIC_V1 = 'SSLCKPT1';
const MAGIC = 'SSLCKPT2';
const DIGEST_BYTES = 32;

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
 * Writes a checkpoint atomically: a temp file beside the target (`FILE.tmp-PID`), fsync, then
 * rename, so a crash mid-write leaves the previous checkpoint intact. The file carries a sha256 of
 * its header and tensors, which {@link readCheckpoint} verifies.
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
  const prefix = MAGIC.length + 4 + DIGEST_BYTES;
  const pad = (4 - ((prefix + header.length) % 4)) % 4;
  const body: Uint8Array[] = [header, Buffer.alloc(pad, 0x20)];
  for (const t of ckpt.tensors) body.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const digest = createHash('sha256');
  for (const p of body) digest.update(p);
  const head = Buffer.alloc(prefix);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32LE(header.length + pad, MAGIC.length);
  digest.digest().copy(head, MAGIC.length + 4);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const p of [head, ...body]) await fh.write(p);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

const damaged = (file: string, what: string) =>
  new SslError(`Checkpoint "${file}" is damaged: ${what}. Delete it and start the run again (--force), or restore the file from a backup.`);

/**
 * Reads a checkpoint written by {@link writeCheckpoint} and verifies its checksum; a missing,
 * foreign, truncated or damaged file is an {@link SslError} naming the file.
 *
 * @example
 * const { meta, tensors } = await readCheckpoint('runs/x/checkpoint.ckpt');
 */
export async function readCheckpoint<M = Record<string, unknown>>(file: string): Promise<CheckpointData<M>> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch {
    throw new SslError(`No checkpoint at "${file}". Start without --resume, or point --out at a run directory that has one.`);
  }
  const magic = buf.length >= MAGIC.length + 4 ? buf.toString('ascii', 0, MAGIC.length) : '';
  if (magic !== MAGIC && magic !== MAGIC_V1) {
    throw new SslError(`"${file}" is not an @ssl checkpoint (bad header). Delete it and start without --resume.`);
  }
  const hlen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + (magic === MAGIC ? DIGEST_BYTES : 0);
  if (start + hlen > buf.length) throw damaged(file, `truncated inside its header (${buf.length} bytes, the header alone needs ${start + hlen})`);
  const checksumOk =
    magic !== MAGIC ||
    createHash('sha256')
      .update(buf.subarray(start))
      .digest()
      .equals(buf.subarray(MAGIC.length + 4, start));
  let parsed: { meta: M; tensors: Array<{ name: string; shape: number[]; offset: number; length: number }> };
  try {
    parsed = JSON.parse(buf.toString('utf8', start, start + hlen)) as typeof parsed;
    if (!parsed || typeof parsed !== 'object' || !Array.isArray(parsed.tensors)) throw new Error('no tensor list');
  } catch (e) {
    throw damaged(
      file,
      checksumOk
        ? `its header is not valid (${e instanceof Error ? e.message : String(e)})`
        : 'its sha256 does not match its contents (bytes were changed or lost)',
    );
  }
  const dataStart = start + hlen;
  const tensors = parsed.tensors.map((s) => {
    const begin = dataStart + s.offset;
    const end = begin + s.length * 4;
    if (end > buf.length) {
      throw new SslError(
        `Checkpoint "${file}" is truncated: tensor ${s.name} needs bytes up to ${end}, file has ${buf.length}. Delete it and start without --resume.`,
      );
    }
    const data = new Float32Array(s.length);
    new Uint8Array(data.buffer).set(buf.subarray(begin, end));
    return { name: s.name, shape: s.shape, data };
  });
  if (!checksumOk) throw damaged(file, 'its sha256 does not match its contents (bytes were changed or lost)');
  return { meta: parsed.meta, tensors };
}

/** Whether a process with this id is running (signal 0 probes without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes `FILE.tmp-PID` files left beside `file` by writers that were killed mid-write (their PID
 * no longer runs); returns the names removed. Temp files of live processes are left alone.
 *
 * @example
 * await removeStaleTempFiles('runs/x/checkpoint.ckpt'); // ['checkpoint.ckpt.tmp-4242']
 */
export async function removeStaleTempFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.tmp-`)) continue;
    const pid = Number(/^(\d+)/.exec(name.slice(base.length + 5))?.[1]);
    if (!Number.isInteger(pid) || (pid !== process.pid && isAlive(pid))) continue;
    if (pid === process.pid) continue;
    await fsp.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
