import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseWord2VecText } from '@ssl/context';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../index';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// A textdir with two classes whose documents use disjoint words: the document probe must work,
// and word2vec must run end to end through `ssl pretrain` and export its vectors.
function textdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'textdir-cli-'));
  const topics: Record<string, string[]> = { animals: ['cat', 'dog', 'pet', 'fur', 'paw'], cars: ['car', 'road', 'wheel', 'fuel', 'tyre'] };
  let seed = 1;
  const pick = <T>(xs: T[]) => xs[(seed = (seed * 16807) % 2147483647) % xs.length]!;
  for (const [cls, words] of Object.entries(topics)) {
    mkdirSync(path.join(dir, cls));
    for (let d = 0; d < 10; d++) {
      const text = Array.from({ length: 12 }, () => `${Array.from({ length: 7 }, () => pick(words)).join(' ')}.`.replace(/^./, (c) => c.toUpperCase())).join(
        ' ',
      );
      writeFileSync(path.join(dir, cls, `${d}.txt`), text);
    }
  }
  return dir;
}

describe('text datasets and word2vec in the CLI', () => {
  it('lists the word2vec tasks as context / text methods', async () => {
    const r = await run('list');
    expect(r.out).toMatch(/word2vec-skipgram\s+text/);
    expect(r.out).toMatch(/word2vec-cbow\s+text/);
  });

  it('pretrains word2vec-skipgram on textdir:PATH, probes document classes, exports tokenizer and vectors', async () => {
    const dir = textdir();
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'w2v-run-')), 'run');
    const r = await run(
      'pretrain',
      '--method',
      'word2vec-skipgram',
      '--dataset',
      `textdir:${dir}`,
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--set',
      'dim=8',
      '--set',
      'probe.epochs=20',
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { probeAccuracy: number; probeMetric: string; trainImages: number };
    expect(res.probeMetric).toMatch(/2-class document probe/);
    expect(res.trainImages).toBe(20 * 4); // 12 sentences per document, items of 3 consecutive sentences
    expect(existsSync(path.join(out, 'tokenizer.json'))).toBe(true);
    const vectors = parseWord2VecText(readFileSync(path.join(out, 'vectors.txt'), 'utf8'));
    expect(vectors.words.sort()).toEqual(['car', 'cat', 'dog', 'fuel', 'fur', 'paw', 'pet', 'road', 'tyre', 'wheel']);
    expect(vectors.dim).toBe(8);
    expect(r.err).toMatch(/word vectors \(word2vec text format\)/);
  });
});
