import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID, buildTokenizer, createTextSource, loadTokenizer, saveTokenizer } from '../text-source';
import type { TextCorpus } from '../text';

// Every sentence names its document and position ("dN sM"), so a window can be checked by reading it back.
function corpus(): TextCorpus {
  const docs = [5, 3, 1, 4].map((count, d) => ({
    id: `doc${d}`,
    text: Array.from({ length: count }, (_, s) => `D${d} s${s} ${'w '.repeat((s % 3) + 1)}end.`).join(' '),
    label: d % 2,
  }));
  return { name: 'fixture', documents: docs, classes: ['even', 'odd'] };
}

describe('text source', () => {
  it('reserves PAD=0, UNK, CLS, SEP, MASK', () => {
    expect([PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID]).toEqual([0, 1, 2, 3, 4]);
    const tok = buildTokenizer(corpus(), { minCount: 1 });
    expect(tok.decode([0, 1, 2, 3, 4])).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  });

  it('items are consecutive sentences of one document, with sentence ids and document labels', () => {
    const c = corpus();
    const tok = buildTokenizer(c, { minCount: 1 });
    const src = createTextSource(c, tok, { length: 40, sentencesPerItem: 2, stride: 1 });
    // windows of 2: doc0 → 4, doc1 → 2, doc2 → 0 (one sentence only), doc3 → 3
    expect(src.size).toBe(9);
    const b = src.batch(
      Int32Array.from({ length: src.size }, (_, i) => i),
      new Rng(3),
    );
    for (let r = 0; r < b.n; r++) {
      const row = Array.from(b.tokens.subarray(r * b.length, (r + 1) * b.length));
      const sent = Array.from(b.sentence!.subarray(r * b.length, (r + 1) * b.length));
      const words = tok.decode(row.filter((t) => t !== PAD_ID));
      const item = src.items[r]!;
      // The two "dN" markers name the item's document; the "sM" markers are start and start+1.
      expect(words.filter((w) => /^d\d$/.test(w))).toEqual([`d${item.doc}`, `d${item.doc}`]);
      expect(words.filter((w) => /^s\d$/.test(w))).toEqual([`s${item.start}`, `s${item.start + 1}`]);
      // sentence ids: a run of 0s, then 1s, then -1 exactly on padding
      const firstOne = sent.indexOf(1);
      expect(firstOne).toBeGreaterThan(0);
      expect(sent.slice(0, firstOne).every((s) => s === 0)).toBe(true);
      row.forEach((t, i) => expect(sent[i] === -1).toBe(t === PAD_ID));
      expect(b.labels![r]).toBe(item.doc % 2);
    }
  });

  it('cuts long windows longest-sentence-first so every sentence keeps tokens', () => {
    const c: TextCorpus = {
      name: 'cut',
      documents: [
        { id: 'a', text: 'One two. Three four five six seven eight nine ten.' },
        { id: 'b', text: 'Other doc here.' },
      ],
    };
    const src = createTextSource(c, buildTokenizer(c, { minCount: 1 }), { length: 5, sentencesPerItem: 2 });
    const b = src.batch(Int32Array.of(0), new Rng(0));
    expect(Array.from(b.sentence!)).toEqual([0, 0, 1, 1, 1]);
    expect(src.tokenizer.decode(b.tokens)).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  it('the `other` sentence never comes from the item document', () => {
    const c = corpus();
    const tok = buildTokenizer(c, { minCount: 1 });
    const src = createTextSource(c, tok, { length: 16, sentencesPerItem: 1, otherLength: 12 });
    expect(src.otherLength).toBe(12);
    const rng = new Rng(7);
    const seenDocs = new Set<string>();
    for (let trial = 0; trial < 50; trial++) {
      const idx = Int32Array.from({ length: src.size }, (_, i) => i);
      const b = src.batch(idx, rng);
      expect(b.other!.length).toBe(b.n * 12);
      for (let r = 0; r < b.n; r++) {
        const words = tok.decode(Array.from(b.other!.subarray(r * 12, (r + 1) * 12)).filter((t) => t !== PAD_ID));
        const docMark = words.find((w) => /^d\d$/.test(w))!;
        expect(docMark).not.toBe(`d${src.items[r]!.doc}`);
        seenDocs.add(docMark);
      }
    }
    expect(seenDocs.size).toBe(4); // every document shows up as some other item's negative
    // a single-document corpus has no `other`
    const one = createTextSource({ name: 'one', documents: [c.documents[0]!] }, tok, { length: 8 });
    expect(one.batch(Int32Array.of(0), new Rng(0)).other).toBeUndefined();
  });

  it('is deterministic for the same rng and rejects bad options', () => {
    const c = corpus();
    const src = createTextSource(c, buildTokenizer(c, { minCount: 1 }), { length: 8 });
    const a = src.batch(Int32Array.of(0, 2), new Rng(1));
    const b = src.batch(Int32Array.of(0, 2), new Rng(1));
    expect(Array.from(a.other!)).toEqual(Array.from(b.other!));
    expect(() => src.batch(Int32Array.of(999), new Rng(0))).toThrow(/999/);
    expect(() => createTextSource(c, src.tokenizer, { sentencesPerItem: 50 })).toThrow(/sentencesPerItem/);
  });

  it('saves and loads word and BPE tokenizers', () => {
    const c = corpus();
    const dir = mkdtempSync(path.join(tmpdir(), 'tok-'));
    for (const kind of ['word', 'bpe'] as const) {
      const tok = buildTokenizer(c, { kind, minCount: 1, merges: 10 });
      saveTokenizer(path.join(dir, `${kind}.json`), tok);
      const back = loadTokenizer(path.join(dir, `${kind}.json`));
      expect(back.kind).toBe(kind);
      expect(Array.from(back.encode('D1 s2 w end.'))).toEqual(Array.from(tok.encode('D1 s2 w end.')));
      expect(Array.from(tok.encode('D1 s2 w end.')).every((id) => id > UNK_ID)).toBe(true);
    }
  });
});
