import { SslError } from '@ssl/core';

/** End-of-word marker appended to each word's last symbol. */
const EOW = '</w>';

/**
 * A byte-pair-encoding subword tokenizer (Sennrich et al. 2016): starts from characters and
 * learns the most frequent adjacent-symbol merges of a word-frequency table. JSON-serialisable.
 *
 * @example
 * const bpe = BpeTokenizer.train(['low', 'lower', 'lowest'], 10);
 * bpe.encode('lowest'); // e.g. ['low', 'est</w>']
 * bpe.decode(bpe.encode('lowest')); // 'lowest'
 */
export class BpeTokenizer {
  readonly merges: ReadonlyArray<readonly [string, string]>;
  private readonly rank: Map<string, number>;

  constructor(merges: ReadonlyArray<readonly [string, string]>) {
    this.merges = merges;
    this.rank = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  }

  /**
   * Learns up to `numMerges` merges from word tokens (e.g. the output of `tokenizeWords`).
   *
   * @example
   * BpeTokenizer.train(tokenizeWords(text), 2000);
   */
  static train(words: Iterable<string>, numMerges: number): BpeTokenizer {
    if (!Number.isInteger(numMerges) || numMerges < 0) throw new SslError(`numMerges must be an integer >= 0, got ${numMerges}`);
    const freq = new Map<string, number>();
    for (const w of words) if (w.length > 0) freq.set(w, (freq.get(w) ?? 0) + 1);
    const table = [...freq.entries()].map(([w, c]) => ({ symbols: BpeTokenizer.chars(w), count: c }));
    const merges: Array<[string, string]> = [];
    for (let m = 0; m < numMerges; m++) {
      const pairs = new Map<string, number>();
      for (const { symbols, count } of table) {
        for (let i = 0; i + 1 < symbols.length; i++) {
          const k = `${symbols[i]} ${symbols[i + 1]}`;
          pairs.set(k, (pairs.get(k) ?? 0) + count);
        }
      }
      let best = '';
      let bestCount = 1;
      for (const [k, c] of pairs) if (c > bestCount || (c === bestCount && best !== '' && k < best)) [best, bestCount] = [k, c];
      if (best === '') break;
      const [a, b] = best.split(' ') as [string, string];
      merges.push([a, b]);
      for (const entry of table) entry.symbols = BpeTokenizer.apply(entry.symbols, a, b);
    }
    return new BpeTokenizer(merges);
  }

  private static chars(word: string): string[] {
    const cs = [...word];
    cs[cs.length - 1] += EOW;
    return cs;
  }

  private static apply(symbols: string[], a: string, b: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
        out.push(a + b);
        i++;
      } else out.push(symbols[i]!);
    }
    return out;
  }

  /** Subword symbols of one word, applying merges in learned order (lowest rank first). */
  encode(word: string): string[] {
    if (word.length === 0) return [];
    let symbols = BpeTokenizer.chars(word);
    for (;;) {
      let bestRank = Infinity;
      let bestPair: [string, string] | undefined;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.rank.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) [bestRank, bestPair] = [r, [symbols[i]!, symbols[i + 1]!]];
      }
      if (!bestPair) return symbols;
      symbols = BpeTokenizer.apply(symbols, bestPair[0], bestPair[1]);
    }
  }

  /** Joins subword symbols back into space-separated words. */
  decode(symbols: readonly string[]): string {
    return symbols
      .join('')
      .split(EOW)
      .filter((w) => w.length > 0)
      .join(' ');
  }

  /** A plain JSON form, for saving. */
  toJSON(): { merges: Array<[string, string]> } {
    return { merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** Rebuilds a tokenizer saved with {@link BpeTokenizer.toJSON}. */
  static fromJSON(json: { merges: Array<[string, string]> }): BpeTokenizer {
    if (!Array.isArray(json.merges)) throw new SslError('BPE JSON must have a merges array');
    return new BpeTokenizer(json.merges);
  }
}
