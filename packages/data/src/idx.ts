import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { SslError } from '@ssl/core';

/** A parsed IDX file (ubyte data). */
export interface IdxData {
  dims: number[];
  data: Uint8Array;
}

function readBytes(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    throw new SslError(`Cannot read IDX file "${file}": it does not exist or is not readable. Check the path (--data-dir).`);
  }
  // Gzip is detected by its magic bytes, not by the file name.
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new SslError(`IDX file "${file}" is a corrupt or truncated gzip archive (${(e as Error).message}). Re-download it.`);
    }
  }
  return raw;
}

/**
 * Reads an IDX file (the MNIST format), plain or gzipped. A truncated or corrupt file throws
 * an error naming the file and the expected and found sizes.
 *
 * @example
 * const { dims, data } = readIdx('train-images-idx3-ubyte.gz'); // dims [60000, 28, 28]
 */
export function readIdx(file: string): IdxData {
  const buf = readBytes(file);
  if (buf.length < 4) throw new SslError(`IDX file "${file}" is truncated: ${buf.length} bytes, shorter than the 4-byte header. Re-download it.`);
  const zero = buf.readUInt16BE(0);
  const type = buf[2]!;
  const rank = buf[3]!;
  if (zero !== 0 || rank === 0 || rank > 4) {
    throw new SslError(`"${file}" is not an IDX file: magic 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')} (expected 0x0000080N). Point at the IDX files of the dataset.`);
  }
  if (type !== 0x08) {
    throw new SslError(`IDX file "${file}" holds data type 0x${type.toString(16)}; only unsigned bytes (0x08) are supported.`);
  }
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw new SslError(`IDX file "${file}" is truncated: header needs ${headerBytes} bytes, found ${buf.length}. Re-download it.`);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = buf.length - headerBytes;
  if (found < expected) {
    throw new SslError(`IDX file "${file}" is truncated: header says ${dims.join('×')} = ${expected} data bytes, found ${found}. Re-download or re-extract it.`);
  }
  if (found > expected) {
    throw new SslError(`IDX file "${file}" is corrupt: header says ${dims.join('×')} = ${expected} data bytes, found ${found}. Re-download it.`);
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, expected) };
}
