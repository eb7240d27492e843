import { readFileSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { SslError } from '@ssl/core';

/**
 * A parsed IDX file: its dimensions and its unsigned-byte data, row-major.
 *
 * @example
 * const { dims, data }: IdxData = readIdx('t10k-labels-idx1-ubyte'); // dims [10000]
 */
export interface IdxData {
  dims: number[];
  data: Uint8Array;
}

// The IDX element types, so an unsupported file is named precisely.
const IDX_TYPES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

interface RawBytes {
  bytes: Buffer;
  /** The gzip stream ended early: `bytes` is what could be inflated before the cut. */
  gzipTruncated: boolean;
}

function readBytes(file: string): RawBytes {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'read error';
    throw new SslError(`Cannot read IDX file "${file}" (${code}): it does not exist or is not readable. Check the path (--data-dir).`);
  }
  // Gzip is detected by its magic bytes, not by the file name: downloads often lose or gain ".gz".
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return { bytes: raw, gzipTruncated: false };
  try {
    return { bytes: gunzipSync(raw), gzipTruncated: false };
  } catch (e) {
    // A cut-off download still inflates up to the cut with a sync flush; that lets the size
    // check below report expected vs found bytes instead of a bare zlib message.
    try {
      return { bytes: gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }), gzipTruncated: true };
    } catch {
      throw new SslError(`IDX file "${file}" is a corrupt gzip archive (${(e as Error).message}). Re-download it.`);
    }
  }
}

/**
 * Reads an IDX file (the MNIST format), plain or gzipped (detected by magic bytes). Only the
 * ubyte type (0x08) is supported. A truncated or corrupt file throws an `SslError` naming the
 * file and the expected and found sizes.
 *
 * @example
 * const { dims, data } = readIdx('train-images-idx3-ubyte.gz'); // dims [60000, 28, 28]
 */
export function readIdx(file: string): IdxData {
  const { bytes: buf, gzipTruncated } = readBytes(file);
  const gz = gzipTruncated ? ' (its gzip stream ends early)' : '';
  if (buf.length < 4)
    throw new SslError(`IDX file "${file}" is truncated${gz}: ${buf.length} bytes, shorter than the 4-byte magic number. Re-download or re-extract it.`);
  const magic = `0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}`;
  const type = buf[2]!;
  const rank = buf[3]!;
  if (buf[0] !== 0 || buf[1] !== 0 || !(type in IDX_TYPES) || rank === 0) {
    throw new SslError(
      `"${file}" is not an IDX file: magic ${magic}, expected 0x000008NN (NN = number of dimensions). Point at the dataset's IDX files (e.g. train-images-idx3-ubyte).`,
    );
  }
  if (type !== 0x08) {
    throw new SslError(
      `IDX file "${file}" holds ${IDX_TYPES[type]} data (type 0x${type.toString(16).padStart(2, '0')}, magic ${magic}); only ubyte (0x08) is supported. Convert it to unsigned bytes.`,
    );
  }
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes)
    throw new SslError(
      `IDX file "${file}" is truncated${gz}: its ${rank}-dimension header needs ${headerBytes} bytes, found ${buf.length}. Re-download or re-extract it.`,
    );
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = buf.length - headerBytes;
  const shape = `${dims.join('×')} = ${expected} data bytes, found ${found}`;
  if (found < expected || gzipTruncated) throw new SslError(`IDX file "${file}" is truncated${gz}: header says ${shape}. Re-download or re-extract it.`);
  if (found > expected) throw new SslError(`IDX file "${file}" is corrupt: header says ${shape}. Re-download it.`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, expected) };
}
