// A Web Worker that trains SimCLR through the built @ssl packages on the wasm backend with the
// thread count it is sent, then posts what ran (with the threads our SIMD kernels use), its speed
// and a hash of the weights. The test
// sends a small run (256 images, batches of 64, a narrow ConvNet); `--bench` the bench's standard
// step (batches of 256, the default ConvNet). Bundled by worker-test.mjs.
import * as tf from '@tensorflow/tfjs';
import { initBackend, simdThreads, train } from '@ssl/core';
import { simclrTask } from '@ssl/contrastive';
import { ImageDataset } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';

const post = (msg: unknown) => (self as unknown as { postMessage(m: unknown): void }).postMessage(msg);

interface Job {
  threads?: number;
  images: number;
  batchSize: number;
  /** ConvNet widths; the default ConvNet's when absent. */
  widths?: number[];
}

self.onmessage = async (ev: MessageEvent<Job>) => {
  try {
    const { threads, images: n, batchSize, widths } = ev.data;
    const backend = await initBackend({ backend: 'wasm', threads });
    // Fixed pseudo-random 28×28 images (a linear congruential generator, seed 1).
    const pixels = new Uint8Array(n * 28 * 28);
    for (let i = 0, s = 1; i < pixels.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      pixels[i] = s >>> 24;
    }
    const source = new ImageDataset({ pixels, n, height: 28, width: 28, channels: 1 });
    const encoder = createConvNet({ ...(widths ? { widths } : {}), seed: 0 });
    const tensorsBefore = tf.memory().numTensors;
    const result = await train({ task: simclrTask, encoder, source, config: { epochs: 1, batchSize, seed: 0 } });
    for (const head of Object.values(result.heads)) head?.dispose();
    let hash = 0;
    for (const w of encoder.getWeights()) for (const v of w.dataSync()) hash = (Math.imul(hash, 31) + Math.round(v * 1e6)) | 0;
    post({
      backend: backend.name,
      threads: backend.threads,
      simd: simdThreads(),
      isolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      steps: result.steps,
      imagesPerSec: result.inputsPerSec,
      loss: result.history.at(-1)!.loss,
      hash,
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
    });
  } catch (e) {
    post({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
};
