import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ssl/core';
await initBackend({ backend: 'wasm' });
const w = tf.backend().wasm;
const ts = [];
try { for (let i = 0; i < 20; i++) { ts.push(tf.zeros([256 * 2 ** 20 / 4 * 1])); console.log(i, (w.HEAPU8.buffer.byteLength/2**20)|0, w._malloc(8)); } }
catch (e) { console.log('caught', e.constructor.name, String(e).slice(0, 200)); }
