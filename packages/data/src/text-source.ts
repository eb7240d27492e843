import { readFileSync, writeFileSync } from 'node:fs';
import { Rng, SslError, type DataSource, type TextBatch } from '@ssl/core';
import { z } from 'zod';
import { BpeTokenizer } from './bpe';
import { SPECIAL_TOKENS, Vocabulary, splitSentences, tokenizeWords, type TextCorpus } from './text';

export { PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID } from '@ssl/core';
/** Number of reserved ids (0..4); ids of real tokens start here. */
export const NUM_SPECIAL_TOKENS = SPECIAL_TOKENS.length;

/** JSON form of a {@link TextTokenizer} (see {@link saveTokenizer}). */
export type TokenizerJSON =
  | { kind: 'word'; vocab: { tokens: string[]; counts: number[] } }
  | { kind: 'bpe'; merges: Array<[string, string]>; vocab: { tokens: string[]; counts: number[] } };

/**
 * Turns one sentence into token ids (no special tokens added). Ids 0..4 are reserved:
 * {@link PAD_ID}, {@link UNK_ID}, {@link CLS_ID}, {@link SEP_ID}, {@link MASK_ID}.
 *
 * @example
 * const tok = buildTokenizer(corpus);
 * tok.encode('The Union is strong.'); // Int32Array of word ids
 */
export interface TextTokenizer {
  readonly kind: 'word' | 'bpe';
  /** The id vocabulary (special tokens first); its counts drive subsampling and noise. */
  readonly vocab: Vocabulary;
  /** Number of ids (vocabulary size, specials included): the embedding table size. */
  readonly size: number;
  encode(sentence: string): Int32Array;
  /** Token strings of ids (BPE symbols end in `</w>` at word ends). */
  decode(ids: ArrayLike<number>): string[];
  toJSON(): TokenizerJSON;
}

class WordTokenizer implements TextTokenizer {
  readonly kind = 'word';
  constructor(readonly vocab: Vocabulary) {}
  get size(): number {
    return this.vocab.size;
  }
  encode(sentence: string): Int32Array {
    return this.vocab.encode(tokenizeWords(sentence));
  }
  decode(ids: ArrayLike<number>): string[] {
    return this.vocab.decode(ids);
  }
  toJSON(): TokenizerJSON {
    return { kind: 'word', vocab: this.vocab.toJSON() };
  }
}

class BpeTextTokenizer implements TextTokenizer {
  readonly kind = 'bpe';
  constructor(
    readonly bpe: BpeTokenizer,
    readonly vocab: Vocabulary,
  ) {}
  get size(): number {
    return this.vocab.size;
  }
  encode(sentence: string): Int32Array {
    return this.vocab.encode(tokenizeWords(sentence).flatMap((w) => this.bpe.encode(w)));
  }
  decode(ids: ArrayLike<number>): string[] {
    return this.vocab.decode(ids);
  }
  toJSON(): TokenizerJSON {
    return { kind: 'bpe', merges: this.bpe.toJSON().merges, vocab: this.vocab.toJSON() };
  }
}

/**
 * Tokenizer options: word-level vocabulary with a min count (default), or BPE subwords.
 *
 * @example
 * tokenizerConfig.parse({ kind: 'bpe', merges: 4000 });
 */
export const tokenizerConfig = z.object({
  kind: z.enum(['word', 'bpe']).default('word').describe('word: one id per lower-cased word seen minCount times; bpe: byte-pair subwords'),
  minCount: z.number().int().min(1).default(5).describe('word: keep words seen at least this often (word2vec default 5); rarer words map to [UNK]'),
  maxSize: z
    .number()
    .int()
    .min(NUM_SPECIAL_TOKENS + 1)
    .optional()
    .describe('cap on the vocabulary size (most frequent kept), specials included'),
  merges: z.number().int().min(0).default(2000).describe('bpe: number of merges to learn'),
});

/**
 * Learns a tokenizer from a corpus' sentences: a word {@link Vocabulary} (min count 5) by default,
 * or BPE merges plus a vocabulary over their subword symbols.
 *
 * @example
 * const tok = buildTokenizer(loadTextCorpus('sotu'), { minCount: 5 });
 * tok.size; // ~ 9000 words + 5 specials
 */
export function buildTokenizer(corpus: TextCorpus, opts: z.input<typeof tokenizerConfig> = {}): TextTokenizer {
  const cfg = tokenizerConfig.parse(opts);
  const words = corpus.documents.map((d) => tokenizeWords(d.text));
  const maxSize = cfg.maxSize === undefined ? {} : { maxSize: cfg.maxSize - NUM_SPECIAL_TOKENS };
  if (cfg.kind === 'word') return new WordTokenizer(Vocabulary.build(words, { minCount: cfg.minCount, ...maxSize }));
  const bpe = BpeTokenizer.train(words.flat(), cfg.merges);
  const pieces = words.map((ws) => ws.flatMap((w) => bpe.encode(w)));
  return new BpeTextTokenizer(bpe, Vocabulary.build(pieces, { minCount: 1, ...maxSize }));
}

/**
 * Rebuilds a tokenizer from its JSON form.
 *
 * @example
 * const tok = tokenizerFromJSON(JSON.parse(readFileSync('tokenizer.json', 'utf8')));
 */
export function tokenizerFromJSON(json: TokenizerJSON): TextTokenizer {
  const vocab = Vocabulary.fromJSON(json.vocab);
  if (vocab.tokens.slice(0, NUM_SPECIAL_TOKENS).join() !== SPECIAL_TOKENS.join()) {
    throw new SslError(
      `tokenizer JSON must start with the special tokens ${SPECIAL_TOKENS.join(', ')}, got ${vocab.tokens.slice(0, NUM_SPECIAL_TOKENS).join(', ')}`,
    );
  }
  if (json.kind === 'word') return new WordTokenizer(vocab);
  if (json.kind === 'bpe') return new BpeTextTokenizer(BpeTokenizer.fromJSON({ merges: json.merges }), vocab);
  throw new SslError(`tokenizer JSON kind must be 'word' or 'bpe', got '${(json as { kind: unknown }).kind}'`);
}

/**
 * Saves a tokenizer as JSON (next to a checkpoint, so features can be recomputed later).
 *
 * @example
 * saveTokenizer('runs/x/tokenizer.json', tok);
 */
export function saveTokenizer(file: string, tokenizer: TextTokenizer): void {
  writeFileSync(file, JSON.stringify(tokenizer.toJSON()));
}

/**
 * Loads a tokenizer saved with {@link saveTokenizer}.
 *
 * @example
 * const tok = loadTokenizer('runs/x/tokenizer.json');
 */
export function loadTokenizer(file: string): TextTokenizer {
  return tokenizerFromJSON(JSON.parse(readFileSync(file, 'utf8')) as TokenizerJSON);
}

/**
 * Options of {@link createTextSource}.
 *
 * @example
 * textSourceConfig.parse({ length: 64, sentencesPerItem: 2 });
 */
export const textSourceConfig = z.object({
  length: z.number().int().min(1).default(64).describe('tokens per item; longer windows are cut longest-sentence-first, shorter ones 0-padded'),
  sentencesPerItem: z.number().int().min(1).default(1).describe('consecutive sentences of one document per item (documents with fewer are skipped)'),
  stride: z.number().int().min(1).optional().describe('sentences between the starts of two windows of a document (default sentencesPerItem: no overlap)'),
  otherLength: z.number().int().min(1).optional().describe('tokens of the random other-document sentence (default length)'),
  limit: z.number().int().min(1).optional().describe('keep only the first `limit` items (in corpus order)'),
});

/** One item of a {@link TextSource}: a window of sentences of one document. */
export interface TextItem {
  /** Index of the document in `corpus.documents`. */
  readonly doc: number;
  /** Index of the window's first sentence in that document. */
  readonly start: number;
}

/**
 * A text {@link DataSource}: its items are windows of consecutive sentences of one document.
 *
 * @example
 * const src = createTextSource(corpus, tok, { length: 64, sentencesPerItem: 2 });
 * src.batch(Int32Array.of(0, 1), new Rng(0)).sentence; // 0/1 per token, -1 on padding
 */
export interface TextSource extends DataSource<TextBatch> {
  readonly modality: 'text';
  readonly corpus: TextCorpus;
  readonly tokenizer: TextTokenizer;
  /** Tokens per item row. */
  readonly length: number;
  readonly sentencesPerItem: number;
  /** Tokens per `other` row. */
  readonly otherLength: number;
  /** Class names when the corpus is labelled (Brown genres, ham/spam). */
  readonly classes?: readonly string[];
  readonly items: readonly TextItem[];
  /** Token ids of every sentence, per document (empty sentences dropped). */
  readonly sentences: ReadonlyArray<readonly Int32Array[]>;
}

/**
 * Token budgets of segments that must fit `budget` tokens in all: repeatedly shortens the
 * currently longest segment from its end (BERT's longest-first truncation), so each segment keeps
 * some tokens when it can.
 *
 * @example
 * fitLengths([10, 3], 8); // [5, 3]
 */
export function fitLengths(lengths: number[], budget: number): number[] {
  const out = [...lengths];
  let total = out.reduce((a, b) => a + b, 0);
  while (total > budget) {
    let longest = 0;
    for (let i = 1; i < out.length; i++) if (out[i]! > out[longest]!) longest = i;
    out[longest]!--;
    total--;
  }
  return out;
}

/**
 * Makes a text data source: each item is `sentencesPerItem` consecutive sentences of one
 * document, tokenised and concatenated (no special tokens inserted: tasks add [CLS]/[SEP] as
 * they need), cut longest-sentence-first to `length` and 0-padded. Batches carry, besides the
 * tokens, `sentence` (each token's sentence index inside the item, -1 on padding), `labels`
 * (document class, where the corpus has classes) and `other`: per item one sentence, drawn with
 * the batch's rng, from a different document (omitted when the corpus has a single document).
 *
 * @example
 * const corpus = loadTextCorpus('brown');
 * const src = createTextSource(corpus, buildTokenizer(corpus), { length: 64, sentencesPerItem: 2 });
 * const b = src.batch(Int32Array.of(0, 5), new Rng(1)); // b.tokens, b.sentence, b.other, b.labels
 */
export function createTextSource(corpus: TextCorpus, tokenizer: TextTokenizer, opts: z.input<typeof textSourceConfig> = {}): TextSource {
  const cfg = textSourceConfig.parse(opts);
  const { length, sentencesPerItem } = cfg;
  const stride = cfg.stride ?? sentencesPerItem;
  const otherLength = cfg.otherLength ?? length;
  const sentences = corpus.documents.map((d) =>
    splitSentences(d.text)
      .map((s) => tokenizer.encode(s))
      .filter((ids) => ids.length > 0),
  );
  let items: TextItem[] = [];
  sentences.forEach((doc, d) => {
    for (let s = 0; s + sentencesPerItem <= doc.length; s += stride) items.push({ doc: d, start: s });
  });
  if (cfg.limit !== undefined) items = items.slice(0, cfg.limit);
  if (items.length === 0) {
    throw new SslError(`text corpus '${corpus.name}' has no document with ${sentencesPerItem} non-empty sentence(s); lower sentencesPerItem`);
  }
  // Global sentence index → document, for drawing `other` sentences uniformly over sentences.
  const sentenceDoc: number[] = [];
  const sentenceIdx: number[] = [];
  sentences.forEach((doc, d) => doc.forEach((_, s) => (sentenceDoc.push(d), sentenceIdx.push(s))));
  const docsWithText = sentences.filter((d) => d.length > 0).length;
  const labelled = corpus.classes !== undefined && corpus.documents.every((d) => d.label !== undefined);

  const drawOther = (doc: number, rng: Rng): Int32Array => {
    for (let attempt = 0; attempt < 64; attempt++) {
      const g = rng.int(sentenceDoc.length);
      if (sentenceDoc[g] !== doc) return sentences[sentenceDoc[g]!]![sentenceIdx[g]!]!;
    }
    // One document dominates the corpus: pick among the other documents directly.
    const others = sentences.map((s, d) => d).filter((d) => d !== doc && sentences[d]!.length > 0);
    const d = rng.pick(others);
    return rng.pick(sentences[d]!);
  };

  return {
    modality: 'text',
    corpus,
    tokenizer,
    length,
    sentencesPerItem,
    otherLength,
    ...(labelled ? { classes: corpus.classes } : {}),
    items,
    sentences,
    size: items.length,
    batch(indices: Int32Array, rng: Rng): TextBatch {
      const n = indices.length;
      const tokens = new Int32Array(n * length);
      const sentence = new Int32Array(n * length).fill(-1);
      const labels = labelled ? new Int32Array(n) : undefined;
      const other = docsWithText > 1 ? new Int32Array(n * otherLength) : undefined;
      for (let r = 0; r < n; r++) {
        const i = indices[r]!;
        const item = items[i];
        if (!item) throw new SslError(`text source index ${i} is out of range [0, ${items.length})`);
        const window = sentences[item.doc]!.slice(item.start, item.start + sentencesPerItem);
        const keep = fitLengths(
          window.map((s) => s.length),
          length,
        );
        let p = r * length;
        window.forEach((s, k) => {
          tokens.set(s.subarray(0, keep[k]), p);
          sentence.fill(k, p, p + keep[k]!);
          p += keep[k]!;
        });
        if (labels) labels[r] = corpus.documents[item.doc]!.label!;
        if (other) other.set(drawOther(item.doc, rng).subarray(0, otherLength), r * otherLength);
      }
      return {
        modality: 'text',
        tokens,
        n,
        length,
        indices: Int32Array.from(indices),
        sentence,
        vocabCounts: tokenizer.vocab.counts,
        ...(labels ? { labels } : {}),
        ...(other ? { other, otherLength } : {}),
      };
    },
  };
}
