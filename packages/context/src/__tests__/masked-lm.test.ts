import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, initBackend, train, type DataSource, type TextBatch } from '@ssl/core';
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID } from '@ssl/data';
import { createTransformer, transformerSequenceModel } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskTokens, maskedLmHead, maskedLmHeads, maskedLmLoss, maskedLmOutputBias, maskedLmTask, maskedLmTerm, maskedLmTermOf } from '../index';

beforeAll(async () => {
  await initBackend();
});

/** n rows of `length`: [CLS] w… [SEP] then padding, words uniform in [5, vocab). */
function fixtureTokens(n: number, length: number, vocab: number, rng: Rng): Int32Array {
  const t = new Int32Array(n * length);
  for (let r = 0; r < n; r++) {
    const used = 3 + rng.int(length - 3);
    t[r * length] = CLS_ID;
    for (let j = 1; j < used - 1; j++) t[r * length + j] = 5 + rng.int(vocab - 5);
    t[r * length + used - 1] = SEP_ID;
  }
  return t;
}

describe('maskTokens (BERT masking)', () => {
  it('selects 15% of the word tokens and corrupts them 80/10/10; specials, padding and the rest are untouched', () => {
    const n = 300;
    const length = 100;
    const tokens = fixtureTokens(n, length, 5000, new Rng(1));
    const { inputs, positions, targets } = maskTokens(tokens, n, length, new Rng(2));
    const words = tokens.filter((id) => id >= 5).length;
    expect(words).toBeGreaterThan(10_000);
    // binomial sd at 15% of >10k tokens is < 0.004
    expect(positions.length / words).toBeGreaterThan(0.14);
    expect(positions.length / words).toBeLessThan(0.16);
    const selected = new Set(positions);
    let masked = 0;
    let random = 0;
    let kept = 0;
    positions.forEach((p, k) => {
      expect(targets[k]).toBe(tokens[p]);
      expect(tokens[p]).toBeGreaterThanOrEqual(5); // never [PAD] [CLS] [SEP] [MASK]
      if (inputs[p] === MASK_ID) masked++;
      else if (inputs[p] === tokens[p]) kept++;
      else random++;
    });
    const m = positions.length;
    // binomial sd of the shares over ~4500 selections: 0.006 (80%), 0.0045 (10%)
    expect(masked / m).toBeCloseTo(0.8, 1);
    expect(Math.abs(masked / m - 0.8)).toBeLessThan(0.025);
    expect(Math.abs(random / m - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(kept / m - 0.1)).toBeLessThan(0.02);
    for (let i = 0; i < tokens.length; i++) if (!selected.has(i)) expect(inputs[i]).toBe(tokens[i]);
    // the random replacements are real word tokens
    positions.forEach((p) => expect(inputs[p] === MASK_ID || inputs[p]! >= 5).toBe(true));
  });

  it('is a pure function of the rng and rejects bad inputs', () => {
    const tokens = fixtureTokens(4, 16, 50, new Rng(3));
    expect(maskTokens(tokens, 4, 16, new Rng(9))).toEqual(maskTokens(tokens, 4, 16, new Rng(9)));
    expect(() => maskTokens(tokens, 4, 15, new Rng(0))).toThrow(/64 ids for 4 rows of 15/);
    expect(() => maskTokens(Int32Array.of(CLS_ID, SEP_ID, PAD_ID), 1, 3, new Rng(0))).toThrow(SslError);
    expect(() => maskTokens(tokens, 4, 16, new Rng(0), { maskTokenProb: 0.9, randomTokenProb: 0.2 })).toThrow(/must be at most 1/);
  });

  it('always predicts at least one token', () => {
    const m = maskTokens(Int32Array.of(CLS_ID, 7, SEP_ID, PAD_ID), 1, 4, new Rng(0), { maskRate: 1e-9 });
    expect([...m.positions]).toEqual([1]);
    expect([...m.targets]).toEqual([7]);
  });
});

describe('maskedLmLoss', () => {
  it('equals the hand-computed cross-entropy over the selected positions', () => {
    // rows 1 and 2 selected, targets 0 and 1: −log σ(2 − 0) over [2, 0] and −log(1/2) over [1, 1]
    const logits = tf.tensor2d([
      [5, -5],
      [2, 0],
      [1, 1],
    ]);
    const loss = maskedLmLoss(logits, tf.tensor1d([1, 2], 'int32'), tf.tensor1d([0, 1], 'int32'));
    const expected = (Math.log(1 + Math.exp(-2)) + Math.log(2)) / 2;
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 6);
  });

  it('does not change when the logits at unselected positions change (and does when selected ones change)', () => {
    const base = tf.randomNormal([6, 10], 0, 1, 'float32', 4) as tf.Tensor2D;
    const positions = tf.tensor1d([0, 3], 'int32');
    const targets = tf.tensor1d([7, 2], 'int32');
    const rowMask = tf.tensor2d([0, 1, 1, 0, 1, 1], [6, 1]);
    const noise = tf.mul(tf.randomNormal([6, 10], 0, 3, 'float32', 5), rowMask) as tf.Tensor2D;
    const a = maskedLmLoss(base, positions, targets).dataSync()[0]!;
    const b = maskedLmLoss(tf.add(base, noise) as tf.Tensor2D, positions, targets).dataSync()[0]!;
    expect(b).toBeCloseTo(a, 6);
    const c = maskedLmLoss(tf.add(base, tf.mul(noise, -1).reverse(0)) as tf.Tensor2D, positions, targets).dataSync()[0]!;
    expect(Math.abs(c - a)).toBeGreaterThan(1e-3);
    // and unselected rows get exactly zero gradient
    const g = tf
      .grad((x: tf.Tensor) => maskedLmLoss(x as tf.Tensor2D, positions, targets))(base)
      .arraySync() as number[][];
    [1, 2, 4, 5].forEach((r) => g[r]!.forEach((v) => expect(v).toBe(0)));
    expect(g[0]!.some((v) => v !== 0)).toBe(true);
  });
});

describe("maskedLmTerm (tied output layer with BERT's output bias)", () => {
  it('equals the cross-entropy of head(h) · Eᵀ + b computed by hand, and trains the bias', () => {
    const encoder = createTransformer({ vocabSize: 7, maxLength: 3, dim: 4, heads: 2, layers: 1, seed: 0 });
    const head = maskedLmHead(4, 1);
    const bias = maskedLmOutputBias(encoder);
    expect(bias.weights[0]!.shape).toEqual([7]);
    bias.weights[0]!.write(tf.tensor1d([0, 0.5, -1, 2, 0, 0.3, -0.2]));
    const seq = tf.tensor3d([
      [
        [0.1, -0.2, 0.3, 0.4],
        [1, 0, -1, 0.5],
        [0.2, 0.2, -0.3, 0],
      ],
    ]);
    const positions = tf.tensor1d([1], 'int32');
    const targets = tf.tensor1d([5], 'int32');
    const loss = maskedLmTerm(encoder, head, seq, positions, targets, { bias }).dataSync()[0]!;
    // independent formula: row 1 of seq through the head, dot every embedding row, add the bias, log-softmax
    const h = (head.predict(tf.tensor2d([[1, 0, -1, 0.5]])) as tf.Tensor).arraySync() as number[][];
    const table = encoder.getLayer('token_embedding').getWeights()[0]!.arraySync() as number[][];
    const b = [0, 0.5, -1, 2, 0, 0.3, -0.2];
    const logits = table.map((e, v) => e.reduce((s, x, k) => s + x * h[0]![k]!, 0) + b[v]!);
    const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z), 0));
    expect(loss).toBeCloseTo(lse - logits[5]!, 5);
    // without the bias the term is the tied projection alone
    const noBias = maskedLmTerm(encoder, head, seq, positions, targets).dataSync()[0]!;
    const logits0 = logits.map((z, v) => z - b[v]!);
    expect(noBias).toBeCloseTo(Math.log(logits0.reduce((s, z) => s + Math.exp(z), 0)) - logits0[5]!, 5);
    // the bias gets the softmax gradient p − onehot(target)
    const grad = tf.variableGrads(
      () => maskedLmTerm(encoder, head, seq, positions, targets, { bias }),
      bias.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const gb = Object.values(grad.grads)[0]!.arraySync() as number[];
    const p = logits.map((z) => Math.exp(z - lse));
    gb.forEach((v, i) => expect(v).toBeCloseTo(p[i]! - (i === 5 ? 1 : 0), 5));
    tf.dispose([seq, positions, targets, ...Object.values(grad.grads), grad.value]);
    [encoder, head, bias].forEach((m) => m.dispose());
  });

  it('untied output: the embedding rows of tokens absent from the input get no gradient (tied: they do)', () => {
    const encoder = createTransformer({ vocabSize: 9, maxLength: 4, dim: 4, heads: 2, layers: 1, seed: 0 });
    const x = tf.tensor2d([[2, 5, 6, 3]], [1, 4], 'int32');
    const positions = tf.tensor1d([1], 'int32');
    const targets = tf.tensor1d([7], 'int32'); // 7 and 8 never appear in the input
    const { createHeads } = maskedLmTask;
    const tableVar = encoder.getLayer('token_embedding').trainableWeights[0]!.read() as tf.Variable;
    const rowGrads = (tiedOutput: boolean) => {
      const heads = createHeads({ config: maskedLmTask.config.parse({ tiedOutput }), featureDim: 4, inputShape: [4], seed: 0, encoder });
      expect(Object.keys(heads).sort()).toEqual(tiedOutput ? ['mlm', 'mlmBias'] : ['mlm', 'mlmOutput']);
      const { value, grads } = tf.variableGrads(() => {
        const seq = transformerSequenceModel(encoder).apply(x) as tf.Tensor3D;
        return maskedLmTermOf(encoder, heads, seq, { positions, targets });
      }, [tableVar]);
      const g = grads[tableVar.name]!.arraySync() as number[][];
      tf.dispose([value, ...Object.values(grads)]);
      Object.values(heads).forEach((h) => h.dispose());
      return g.map((row) => row.some((v) => v !== 0));
    };
    const untied = rowGrads(false);
    expect(untied[7]).toBe(false);
    expect(untied[8]).toBe(false);
    expect(untied[5]).toBe(true);
    const tied = rowGrads(true);
    expect(tied[7]).toBe(true);
    expect(tied[8]).toBe(true);
    tf.dispose([x, positions, targets]);
    encoder.dispose();
    expect(maskedLmHeads(undefined, 4, { tiedOutput: false, outputBias: true }, 0)).toHaveProperty('mlm');
  });

  it('defaults to an untied output layer; tied, the output bias is on by default and can be switched off', () => {
    const encoder = createTransformer({ vocabSize: 11, maxLength: 4, dim: 4, heads: 2, layers: 1, seed: 0 });
    const heads = (cfg: object) => maskedLmTask.createHeads({ config: maskedLmTask.config.parse(cfg), featureDim: 4, inputShape: [4], seed: 0, encoder });
    const untied = heads({});
    expect(Object.keys(untied).sort()).toEqual(['mlm', 'mlmOutput']);
    expect(untied.mlmOutput!.outputs[0]!.shape).toEqual([null, 11]);
    const on = heads({ tiedOutput: true });
    expect(Object.keys(on).sort()).toEqual(['mlm', 'mlmBias']);
    expect(on.mlmBias!.weights[0]!.shape).toEqual([11]);
    const off = heads({ tiedOutput: true, outputBias: false });
    expect(Object.keys(off)).toEqual(['mlm']);
    [...Object.values(untied), ...Object.values(on), ...Object.values(off), encoder].forEach((m) => m.dispose());
  });
});

describe('maskedLmTask', () => {
  const length = 12;
  const source: DataSource<TextBatch> = {
    modality: 'text',
    size: 16,
    batch: (indices) => {
      const n = indices.length;
      const tokens = new Int32Array(n * length);
      // a learnable pattern: row i repeats the words 5 + (i % 3) and 9 + (i % 3)
      indices.forEach((i, r) => {
        for (let j = 0; j < 9; j++) tokens[r * length + j] = j % 2 ? 5 + (i % 3) : 9 + (i % 3);
      });
      return { modality: 'text', tokens, n, length, indices: Int32Array.from(indices) };
    },
  };

  it('trains a transformer (loss falls) without leaking tensors', async () => {
    const encoder = createTransformer({ vocabSize: 20, maxLength: length, dim: 16, heads: 2, layers: 1, seed: 0 });
    const run = async (epochs: number) => {
      const r = await train({ task: maskedLmTask, encoder, source, config: { epochs, batchSize: 8, lr: 1e-2, seed: 1 } });
      Object.values(r.heads).forEach((h) => h.dispose());
      return r;
    };
    await run(1);
    const before = tf.memory().numTensors;
    const r = await run(15);
    expect(tf.memory().numTensors).toBe(before);
    const losses = r.history.map((h) => h.loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)) - 0.5);
  });

  it('names the transformer when given another encoder', async () => {
    const { createMlp } = await import('@ssl/encoders');
    const encoder = createMlp({ inputShape: [length], hidden: [8], outputDim: 4, seed: 0 });
    await expect(train({ task: maskedLmTask, encoder, source, config: { epochs: 1, batchSize: 8 } })).rejects.toThrow(/needs a transformer encoder/);
  });
});
