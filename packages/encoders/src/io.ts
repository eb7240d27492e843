import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError } from '@ssl/core';

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

/**
 * Saves a model in the standard TensorFlow.js layers format: `dir/model.json` and
 * `dir/weights.bin`, which `tf.loadLayersModel('…/model.json')` reads in a browser.
 *
 * @example
 * await saveLayersModel(encoder, 'runs/rotation/encoder');
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const bytes = weightData instanceof ArrayBuffer ? new Uint8Array(weightData) : new Uint8Array(tf.io.concatenateArrayBuffers(weightData ?? []));
      // weights first, so a model.json never points at a missing weights file
      await writeAtomic(path.join(dir, 'weights.bin'), bytes);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    }),
  );
}

/**
 * Loads a model saved by {@link saveLayersModel} (or any tfjs layers-format folder) in Node.
 *
 * @example
 * const encoder = await loadLayersModel('runs/rotation/encoder');
 */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const jsonPath = path.join(dir, 'model.json');
  let json: { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  try {
    json = JSON.parse(await fsp.readFile(jsonPath, 'utf8'));
  } catch {
    throw new SslError(`No TensorFlow.js model at "${jsonPath}". Point at a folder holding model.json and its weights (e.g. a run's encoder/ folder).`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      try {
        buffers.push(await fsp.readFile(path.join(dir, p)));
      } catch {
        throw new SslError(`Weights file "${path.join(dir, p)}" named by ${jsonPath} is missing. Re-export the model.`);
      }
    }
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.byteLength;
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: weightData.buffer }));
}
