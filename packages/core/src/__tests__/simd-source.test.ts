import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SIMD_PLAIN_WASM, SIMD_SHARED_WASM, SIMD_SOURCE_SHA256 } from '../simd/kernels-wasm';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../simd');

describe('SIMD kernels module', () => {
  it('was built from the committed kernels.c (rebuild with `node tools/build-simd.mjs` after editing it)', () => {
    const sha = createHash('sha256')
      .update(readFileSync(path.join(dir, 'kernels.c')))
      .digest('hex');
    expect(sha).toBe(SIMD_SOURCE_SHA256);
  });

  it('imports only a memory (shared for the threaded build, plain otherwise) and exports the kernels', () => {
    for (const [b64, shared] of [
      [SIMD_SHARED_WASM, true],
      [SIMD_PLAIN_WASM, false],
    ] as const) {
      const module = new WebAssembly.Module(Buffer.from(b64, 'base64'));
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(
        WebAssembly.Module.exports(module)
          .map((e) => e.name)
          .sort(),
      ).toEqual([
        'channel_affine',
        'channel_binary',
        'column_block_centred_sums',
        'column_block_sums',
        'column_sum',
        'conv_filter_grad',
        'exp_values',
        'fill_rows',
        'maxpool_grad_2x2',
        'middle_sum',
        'same_binary',
        'step',
      ]);
      const memory = new WebAssembly.Memory({ initial: 4, maximum: 65536, shared });
      const before = new Uint8Array(memory.buffer).slice();
      new WebAssembly.Instance(module, { env: { memory } });
      // Instantiating writes nothing to the heap it is given.
      expect(new Uint8Array(memory.buffer)).toEqual(before);
    }
  });
});
