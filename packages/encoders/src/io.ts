import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError } from '@ssl/core';

// The browser loader resolves manifest `paths` relative to model.json, so both live in one folder.
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/**
 * A model's topology and weights in memory, exactly as `model.save` hands them to a handler.
 *
 * @example
 * const { modelTopology, weightSpecs, weightData } = await modelToArtifacts(encoder);
 */
export async function modelToArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured) throw new SslError(`Saving model "${model.name}" produced no artifacts. Check that it is a built tf.LayersModel.`);
  return captured;
}

/**
 * Joins weight data (one buffer or tfjs' list of shards) into the bytes of one weights file.
 *
 * @example
 * const bytes = weightsToBuffer((await modelToArtifacts(encoder)).weightData);
 */
export function weightsToBuffer(weightData: tf.io.WeightData | undefined): Uint8Array {
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData ?? []));
}

let tmpCounter = 0;

// Temp file + fsync + rename: a crash mid-write never leaves a truncated file under the real name.
async function writeDurable(file: string, data: string | Uint8Array): Promise<string> {
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/**
 * Saves a model in the standard TensorFlow.js layers format, `dir/model.json` + `dir/weights.bin`,
 * which `tf.loadLayersModel('…/model.json')` reads in a browser. Files are replaced atomically.
 *
 * @example
 * await saveLayersModel(encoder, 'runs/rotation/encoder');
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  const artifacts = await modelToArtifacts(model);
  const bytes = weightsToBuffer(artifacts.weightData);
  const modelJson: tf.io.ModelJSON & { convertedBy: null } = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology as object,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
  const tmps: string[] = [];
  try {
    await fsp.mkdir(dir, { recursive: true });
    tmps.push(await writeDurable(path.join(dir, WEIGHTS_BIN), bytes));
    tmps.push(await writeDurable(path.join(dir, MODEL_JSON), JSON.stringify(modelJson)));
    // Weights first: model.json is what readers open, so it must never name weights not yet in place.
    await fsp.rename(tmps[0]!, path.join(dir, WEIGHTS_BIN));
    await fsp.rename(tmps[1]!, path.join(dir, MODEL_JSON));
  } catch (e) {
    await Promise.all(tmps.map((t) => fsp.rm(t, { force: true })));
    throw new SslError(
      `Could not save model "${model.name}" to "${dir}": ${e instanceof Error ? e.message : String(e)}. Pick a writable folder (e.g. --out runs/x).`,
      { cause: e },
    );
  }
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData: bytes.buffer as ArrayBuffer }) };
}

/**
 * Loads a model saved by {@link saveLayersModel}, or any tfjs layers-format folder, in Node.
 * `dir` is the folder or its model.json.
 *
 * @example
 * const encoder = await loadLayersModel('runs/rotation/encoder');
 */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const { json, jsonPath, folder } = await readModelJson(dir);
  // tfjs' own JSON → artifacts step; we only supply the bytes the manifest names.
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const files = manifest.flatMap((group) => group.paths).map((p) => path.join(folder, p));
    const buffers = await Promise.all(
      files.map(async (file) => {
        try {
          return await fsp.readFile(file);
        } catch {
          throw new SslError(`Weights file "${file}" named by "${jsonPath}" is missing. Copy it next to model.json or re-export the model.`);
        }
      }),
    );
    const have = buffers.reduce((a, b) => a + b.length, 0);
    const need = specs.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4), 0);
    if (have !== need) {
      throw new SslError(
        `Weights file "${files.join('", "')}" holds ${have} bytes but "${jsonPath}" describes ${need}: the file is truncated or belongs to another model. Re-export the model (re-run the training).`,
      );
    }
    return [specs, tf.io.CompositeArrayBuffer.join(buffers.map((b) => new Uint8Array(b).buffer))];
  });
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/**
 * The architecture saved in `dir/model.json` with fresh weights from its initialisers (seeded, as
 * the encoders here build them): the model exactly as it was before training. A run's random-init
 * baseline comes from this, so it always matches the saved encoder.
 *
 * @example
 * const baseline = await loadLayersModelArchitecture('runs/rotation/encoder');
 */
export async function loadLayersModelArchitecture(dir: string): Promise<tf.LayersModel> {
  const { json } = await readModelJson(dir);
  return tf.models.modelFromJSON({ modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'] } as never);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8, string: 1 };

/** Reads and checks a layers-format model.json; errors name the file and the fix. */
async function readModelJson(dir: string): Promise<{ json: tf.io.ModelJSON; jsonPath: string; folder: string }> {
  const jsonPath = dir.endsWith('.json') ? dir : path.join(dir, MODEL_JSON);
  const folder = path.dirname(jsonPath);
  let text: string;
  try {
    text = await fsp.readFile(jsonPath, 'utf8');
  } catch {
    throw new SslError(`No TensorFlow.js model at "${jsonPath}". Point at a folder holding model.json and weights.bin (e.g. a run's encoder/ folder).`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new SslError(`"${jsonPath}" is not valid JSON (${e instanceof Error ? e.message : String(e)}). Re-export the model.`);
  }
  if (json === null || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new SslError(
      `"${jsonPath}" is not a TensorFlow.js layers model: it needs "modelTopology" and a "weightsManifest" list. Re-export it with saveLayersModel or model.save.`,
    );
  }
  return { json, jsonPath, folder };
}
