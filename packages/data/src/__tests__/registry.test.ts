import { Rng, type TextBatch } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { builtinDatasets, documentSource } from '../builtin-datasets';
import { createDatasetRegistry, defineDataset } from '../registry';
import { Vocabulary, type TextCorpus } from '../text';
import { buildTokenizer } from '../text-source';

describe('dataset registry', () => {
  const reg = createDatasetRegistry().use(builtinDatasets);

  it('holds every built-in dataset, prefixes written as PATH', () => {
    expect(reg.choices()).toEqual([
      'mnist',
      'fashion-mnist',
      'imagefolder:PATH',
      'moving-mnist',
      'sensors',
      'cora:PATH',
      'sotu',
      'moby-dick',
      'brown',
      'spam',
      'textdir:PATH',
    ]);
    expect(reg.choices('sequence')).toEqual(['moving-mnist', 'sensors']);
  });

  it('resolves names and prefixes; a typo or a missing path is one line with the fix', () => {
    expect(reg.resolve('imagefolder:/data/x').arg).toBe('/data/x');
    expect(reg.resolve('moving-mnist').dataset.modality).toBe('sequence');
    expect(() => reg.resolve('cifar')).toThrow(/^Unknown dataset "cifar". Must be one of \[mnist, fashion-mnist, imagefolder:PATH, moving-mnist/);
    expect(() => reg.resolve('cora:')).toThrow('Dataset "cora:" has no path. Write it as cora:PATH.');
  });

  it('refuses duplicates and bad names', () => {
    const again = defineDataset({ ...builtinDatasets[0]! });
    expect(() => createDatasetRegistry().use(builtinDatasets).use(again)).toThrow(/Duplicate dataset "mnist"/);
    expect(() => defineDataset({ ...builtinDatasets[0]!, name: 'My Data' })).toThrow(/Invalid dataset name "My Data"/);
  });
});

describe('documentSource', () => {
  it('cuts each document into rows of `length` tokens, weighted by their token counts', () => {
    const words = Array.from({ length: 7 }, () => 'a b c d e f g h i j.').join(' '); // 70 tokens
    const corpus: TextCorpus = {
      name: 't',
      documents: [
        { id: 'd0', text: words, label: 1 },
        { id: 'd1', text: 'a b.', label: 0 },
      ],
      classes: ['x', 'y'],
    };
    const tok = buildTokenizer(corpus, { minCount: 1 });
    expect(tok.vocab).toBeInstanceOf(Vocabulary);
    const b = documentSource(corpus, tok, [0, 1], 32).batch(Int32Array.of(0, 1), new Rng(0)) as TextBatch;
    // 70 tokens → rows of 32, 32, 6; the second document one row of 2.
    expect(b.n).toBe(4);
    expect(Array.from(b.chunks!.owner)).toEqual([0, 0, 0, 1]);
    expect(Array.from(b.chunks!.weight)).toEqual([32, 32, 6, 2]);
    expect(Array.from(b.labels!)).toEqual([1, 0]);
  });
});
