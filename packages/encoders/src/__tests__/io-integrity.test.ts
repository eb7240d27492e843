import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, loadLayersModel, loadLayersModelArchitecture, saveLayersModel } from '../index';

beforeAll(async () => {
  await initBackend();
});

const freshDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'ssl-enc-')), 'encoder');
const weights = (m: tf.LayersModel) => m.weights.map((w) => [...w.read().dataSync()]);

describe('saved encoder integrity', () => {
  it('a truncated weights.bin is one line naming the file (no raw tfjs shape error)', async () => {
    const dir = freshDir();
    await saveLayersModel(createEncoder('mlp', { hidden: [8], outputDim: 4 }, [6], 0), dir);
    const bin = path.join(dir, 'weights.bin');
    writeFileSync(bin, readFileSync(bin).subarray(0, 40));
    const err = (await loadLayersModel(dir).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /^Weights file ".*weights.bin" holds 40 bytes but ".*model.json" describes \d+: the file is truncated or belongs to another model\. Re-export/,
    );
    expect(err.message).not.toMatch(/Based on the provided shape|\n/);
  });

  it('the architecture of a saved, trained encoder rebuilds its exact random init (the baseline of `ssl eval`)', async () => {
    const dir = freshDir();
    const enc = createEncoder('convnet', {}, [8, 8, 1], 3);
    const init = weights(enc);
    // "Train": change every weight, then save.
    enc.weights.forEach((w) => (w.read() as tf.Variable).assign(tf.add(w.read(), 1)));
    await saveLayersModel(enc, dir);
    const baseline = await loadLayersModelArchitecture(dir);
    expect(weights(baseline)).toEqual(init);
    expect(weights(await loadLayersModel(dir))).not.toEqual(init);
    expect(baseline.inputs[0]!.shape).toEqual([null, 8, 8, 1]);
  });
});
