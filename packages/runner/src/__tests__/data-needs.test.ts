import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng, definePretextTask, type AnyPretextTask, type TextBatch } from '@ssl/core';
import type { TextSource } from '@ssl/data';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinCatalogue } from '../catalogue';
import { buildRunConfig } from '../config';
import { planRun } from '../pipeline';

// Two documents of 6 sentences each; sentence s of document d is "Doc d line s ...".
const dir = mkdtempSync(path.join(tmpdir(), 'ssl-data-needs-'));
for (const d of [0, 1]) {
  writeFileSync(path.join(dir, `doc${d}.txt`), Array.from({ length: 6 }, (_, s) => `Doc ${d} line ${s} has words.`).join(' '));
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plugin text task that declares items of `k` sentences (or nothing, for k undefined). */
function textTask(name: string, k?: number): AnyPretextTask {
  return definePretextTask({
    name,
    family: 'temporal',
    modality: 'text',
    title: name,
    paper: 'test',
    description: 'test',
    config: z.object({}).strict(),
    ...(k ? { dataNeeds: () => ({ sentencesPerItem: k }) } : {}),
    createHeads: () => ({}),
    prepare: (raw) => ({ x: tf.tensor2d(raw.tokens, [raw.n, raw.length], 'int32') }),
    loss: ({ batch }) => tf.mean(batch.x) as tf.Scalar,
  });
}

/** The training source a run of `task` (with `--set` pairs) gets on the text folder. */
function trainSource(task: AnyPretextTask, set: Record<string, unknown> = {}): TextSource {
  const catalogue = builtinCatalogue();
  if (!catalogue.tasks.has(task.name)) catalogue.use(task);
  const cfg = buildRunConfig(catalogue, { method: task.name, dataset: `textdir:${dir}`, set });
  return planRun(catalogue, cfg, catalogue.tasks.find(task.name)).train as TextSource;
}

/** Sentence indices present in each item of a batch of every item. */
function sentencesPerRow(source: TextSource): number[][] {
  const b: TextBatch = source.batch(
    Int32Array.from({ length: source.size }, (_, i) => i),
    new Rng(0),
  );
  return Array.from({ length: b.n }, (_, r) => [...new Set(b.sentence!.subarray(r * b.length, (r + 1) * b.length))].filter((s) => s >= 0).sort());
}

describe('the text layout comes from the task (dataNeeds), not from the data package', () => {
  it('a plugin task declaring 2 sentences per item gets items of 2 consecutive sentences', () => {
    const source = trainSource(textTask('pairs-of-sentences', 2));
    expect(source.sentencesPerItem).toBe(2);
    expect(source.size).toBe(6); // 2 documents × 6 sentences / 2
    expect(sentencesPerRow(source)).toEqual(Array.from({ length: 6 }, () => [0, 1]));
    // Windows of consecutive sentences of one document: (document, first sentence).
    expect(source.items.map((i) => [i.doc, i.start])).toEqual([
      [0, 0],
      [0, 2],
      [0, 4],
      [1, 0],
      [1, 2],
      [1, 4],
    ]);
  });

  it('a task that declares nothing gets the dataset default, one sentence per item', () => {
    const source = trainSource(textTask('one-sentence'));
    expect(source.sentencesPerItem).toBe(1);
    expect(source.size).toBe(12);
    expect(sentencesPerRow(source)).toEqual(Array.from({ length: 12 }, () => [0]));
  });

  it('sentence order declares its configured window: --set task.sentences=2 gives items of 2 sentences, the default 3', () => {
    const sentenceOrder = builtinCatalogue().tasks.find('sentence-order');
    expect(trainSource(sentenceOrder).sentencesPerItem).toBe(3);
    const two = trainSource(sentenceOrder, { 'task.sentences': 2 });
    expect(two.sentencesPerItem).toBe(2);
    expect(two.size).toBe(6);
  });

  it('the built-in text tasks keep the 3-sentence items the README figures were measured on', () => {
    const textTasks = builtinCatalogue()
      .tasks.list()
      .filter((t) => t.modality === 'text');
    expect(textTasks.map((t) => t.name).sort()).toEqual(['masked-lm', 'next-sentence', 'sentence-order', 'word2vec-cbow', 'word2vec-skipgram']);
    for (const task of textTasks) expect([task.name, trainSource(task).sentencesPerItem]).toEqual([task.name, 3]);
  });
});
