import { describe, expect, it } from 'vitest';
import { BpeTokenizer } from '../bpe';
import { loadTextCorpus, tokenizeWords } from '../text';

describe('BpeTokenizer', () => {
  it('learns the most frequent pair first (hand-checked)', () => {
    // pairs: l-o x3, o-w x3, w-e x2 ... 'l o' (3) ties 'o w' (3): alphabetical tie-break picks 'l o'
    const bpe = BpeTokenizer.train(['low', 'lower', 'lowest'], 2);
    expect(bpe.merges).toEqual([
      ['l', 'o'],
      ['lo', 'w'],
    ]);
    expect(bpe.encode('lowest')).toEqual(['low', 'e', 's', 't</w>']);
  });

  it('round-trips real text and survives save/load', () => {
    const words = tokenizeWords(
      loadTextCorpus('moby-dick')
        .documents.slice(0, 3)
        .map((d) => d.text)
        .join(' '),
    );
    const bpe = BpeTokenizer.train(words, 200);
    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(bpe.toJSON())));
    const sample = words.slice(0, 300);
    const symbols = sample.flatMap((w) => bpe.encode(w));
    expect(bpe.decode(symbols)).toBe(sample.join(' '));
    expect(sample.flatMap((w) => back.encode(w))).toEqual(symbols);
    expect(symbols.length).toBeLessThan(sample.join('').length * 0.7);
  });
});
