import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SslError, initBackend } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConvNet, createResNet18Small, loadLayersModel, saveLayersModel, weightsToBuffer } from '../index';

beforeAll(async () => {
  await initBackend();
});

const freshDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'ssl-enc-')), 'encoder');
const predict = (m: tf.LayersModel, x: tf.Tensor) => tf.tidy(() => [...(m.predict(x) as tf.Tensor).dataSync()]);

describe('saveLayersModel / loadLayersModel', () => {
  it('round-trips to identical predictions in the standard layers format', async () => {
    const dir = freshDir();
    const m = createResNet18Small({ width: 1 / 16, seed: 1 });
    await saveLayersModel(m, dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']); // no temp files left
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology.class_name).toBe('Model');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights).toHaveLength(m.weights.length);
    const floats = m.weights.reduce((n, w) => n + w.read().size, 0);
    expect(readFileSync(path.join(dir, 'weights.bin')).byteLength).toBe(floats * 4);

    const loaded = await loadLayersModel(dir);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
    expect(predict(loaded, x)).toEqual(predict(m, x));
    expect(await loadLayersModel(path.join(dir, 'model.json'))).toBeInstanceOf(tf.LayersModel);
    x.dispose();
  });

  it("is readable by tfjs' own URL loader, as a browser would fetch it", async () => {
    const dir = freshDir();
    const m = createConvNet({ widths: [4, 8, 8], seed: 2 });
    await saveLayersModel(m, dir);
    // tf.io.http resolves weightsManifest paths relative to model.json, exactly as in a browser.
    const fetchFunc = async (input: RequestInfo | URL) => new Response(readFileSync(decodeURIComponent(new URL(String(input)).pathname)));
    const viaHttp = await tf.loadLayersModel(tf.io.http(`http://models.test${dir}/model.json`, { fetchFunc }));
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 4);
    expect(predict(viaHttp, x)).toEqual(predict(m, x));
    x.dispose();
  });

  it('overwrites an earlier save in place', async () => {
    const dir = freshDir();
    await saveLayersModel(createConvNet({ widths: [4, 8, 8], seed: 3 }), dir);
    const second = createConvNet({ widths: [4, 8, 8], seed: 4 });
    await saveLayersModel(second, dir);
    const x = tf.ones([1, 28, 28, 1]);
    expect(predict(await loadLayersModel(dir), x)).toEqual(predict(second, x));
    x.dispose();
  });

  it('names the missing or broken path in an SslError', async () => {
    await expect(loadLayersModel('/no/such/model')).rejects.toThrow(SslError);
    await expect(loadLayersModel('/no/such/model')).rejects.toThrow(/No TensorFlow.js model at "\/no\/such\/model\/model.json"/);
    const dir = freshDir();
    await saveLayersModel(createConvNet({ widths: [2, 2, 2], seed: 0 }), dir);
    rmSync(path.join(dir, 'weights.bin'));
    await expect(loadLayersModel(dir)).rejects.toThrow(`Weights file "${path.join(dir, 'weights.bin')}" named by "${path.join(dir, 'model.json')}" is missing`);
    writeFileSync(path.join(dir, 'model.json'), '{"modelTopology":');
    await expect(loadLayersModel(dir)).rejects.toThrow(/model.json" is not valid JSON/);
    writeFileSync(path.join(dir, 'model.json'), '{"hello":1}');
    await expect(loadLayersModel(dir)).rejects.toThrow(/is not a TensorFlow.js layers model/);
  });

  it('reports an unwritable target as an SslError naming the folder', async () => {
    const blocker = path.join(mkdtempSync(path.join(tmpdir(), 'ssl-enc-')), 'a-file');
    writeFileSync(blocker, 'not a folder');
    const dir = path.join(blocker, 'encoder');
    await expect(saveLayersModel(createConvNet({ widths: [2, 2, 2], seed: 0 }), dir)).rejects.toThrow(`Could not save model "convnet" to "${dir}"`);
  });

  it('weightsToBuffer joins sharded weight data in order', () => {
    expect([...weightsToBuffer([Uint8Array.of(1, 2).buffer, Uint8Array.of(3).buffer])]).toEqual([1, 2, 3]);
    expect(weightsToBuffer(undefined).byteLength).toBe(0);
  });
});
