import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { loadTextCorpus, sampleIndices, SPECIAL_TOKENS, splitSentences, tokenizeWords, Vocabulary } from '../text';

describe('text pipeline', () => {
  it('splits sentences and keeps abbreviations inside', () => {
    expect(splitSentences('Hello there. Mr. Smith came! Did he?  Yes.')).toEqual(['Hello there.', 'Mr. Smith came!', 'Did he?', 'Yes.']);
  });

  it('tokenizes words in lower case with inner apostrophes', () => {
    expect(tokenizeWords("The Union's state, in 1990, is STRONG.")).toEqual(['the', "union's", 'state', 'in', '1990', 'is', 'strong']);
  });

  it('builds a vocabulary with min-count, special tokens first, and round-trips through JSON', () => {
    const v = Vocabulary.build(
      [
        ['a', 'b', 'a', 'c'],
        ['a', 'c'],
      ],
      { minCount: 2 },
    );
    expect(v.tokens).toEqual([...SPECIAL_TOKENS, 'a', 'c']);
    expect(Array.from(v.counts)).toEqual([0, 0, 0, 0, 0, 3, 2]);
    expect(v.id('b')).toBe(1);
    expect(v.decode(v.encode(['a', 'c', 'a']))).toEqual(['a', 'c', 'a']);
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    expect(back.tokens).toEqual(v.tokens);
    expect(Array.from(back.encode(['c', 'zzz']))).toEqual([6, 1]);
    expect(() => Vocabulary.build([], { minCount: 0 })).toThrow(/minCount/);
  });

  it('loads Brown with 15 genres and SpamAssassin with ham and spam', () => {
    const brown = loadTextCorpus('brown');
    expect(brown.documents.length).toBe(500);
    expect(brown.classes?.length).toBe(15);
    expect(brown.documents[0]!.text.startsWith('The Fulton County Grand Jury said')).toBe(true);
    const spam = loadTextCorpus('spam');
    const labels = new Set(spam.documents.map((d) => d.label));
    expect(labels).toEqual(new Set([0, 1]));
  });

  it('loads a textdir folder with sub-folders as classes, and rejects unknown names', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'textdir-'));
    for (const c of ['neg', 'pos']) {
      mkdirSync(path.join(dir, c));
      writeFileSync(path.join(dir, c, 'a.txt'), `A ${c} text.`);
    }
    const corpus = loadTextCorpus(`textdir:${dir}`);
    expect(corpus.classes).toEqual(['neg', 'pos']);
    expect(corpus.documents.map((d) => d.label)).toEqual([0, 1]);
    expect(() => loadTextCorpus('nope')).toThrow(/unknown text corpus 'nope'/);
  });

  it('samples distinct indices reproducibly', () => {
    const a = sampleIndices(50, 10, new Rng(3));
    expect(new Set(a).size).toBe(10);
    expect(Array.from(a)).toEqual(Array.from(sampleIndices(50, 10, new Rng(3))));
  });
});
