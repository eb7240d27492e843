import { readFileSync } from 'node:fs';
import { SslError, type DataSource, type Rng } from '@ssl/core';
import { z } from 'zod';

/**
 * A node-attributed graph in memory: dense features (row-major `numNodes × numFeatures`),
 * undirected edges stored once each as flat `[u0, v0, u1, v1, ...]`, optional labels and split.
 *
 * @example
 * const g: Graph = { name: 'pair', numNodes: 2, numFeatures: 1, features: Float32Array.of(1, 0), edges: Int32Array.of(0, 1) };
 */
export interface Graph {
  name: string;
  numNodes: number;
  numFeatures: number;
  features: Float32Array;
  /** Undirected edges, each once, flat pairs, no self-loops. */
  edges: Int32Array;
  labels?: Int32Array;
  numClasses?: number;
  /** Node indices of a fixed split (e.g. Planetoid's 140 / 500 / 1000 on Cora). */
  split?: { train: Int32Array; val: Int32Array; test: Int32Array };
}

/**
 * A whole graph as one raw batch: DGI-style tasks see every node at once (full-batch training).
 * `indices` are the node indices the trainer drew; graph tasks may ignore them.
 *
 * @example
 * const b: GraphBatch = graphSource(g).batch(Int32Array.of(0, 1), new Rng(0));
 */
export interface GraphBatch {
  readonly modality: 'graph';
  readonly numNodes: number;
  readonly numFeatures: number;
  /** `numNodes * numFeatures` floats, row-major. */
  readonly features: Float32Array;
  /** Undirected edges, each once, flat pairs. */
  readonly edges: Int32Array;
  readonly labels?: Int32Array;
  readonly indices: Int32Array;
}

declare module '@ssl/core' {
  interface BatchByModality {
    graph: GraphBatch;
  }
}

/** Drops self-loops and duplicate undirected edges; checks node ids. Returns flat pairs with u < v. */
function cleanEdges(pairs: ArrayLike<number>, numNodes: number, where: string): Int32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const a = pairs[i]!;
    const b = pairs[i + 1]!;
    for (const v of [a, b]) {
      if (!Number.isInteger(v) || v < 0 || v >= numNodes)
        throw new SslError(`${where}: edge ${i / 2} has node ${v}; node ids must be integers in [0, ${numNodes - 1}].`);
    }
    if (a === b) continue;
    const u = Math.min(a, b);
    const w = Math.max(a, b);
    const key = u * numNodes + w;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(u, w);
  }
  return Int32Array.from(out);
}

/** Scales each feature row to sum 1 (rows of zeros stay zero), as the DGI/GCN reference code does. */
export function rowNormalize(features: Float32Array, numNodes: number, numFeatures: number): Float32Array {
  const out = new Float32Array(features);
  for (let i = 0; i < numNodes; i++) {
    let s = 0;
    for (let j = 0; j < numFeatures; j++) s += out[i * numFeatures + j]!;
    if (s !== 0) for (let j = 0; j < numFeatures; j++) out[i * numFeatures + j]! /= s;
  }
  return out;
}

const coraJson = z.object({
  name: z.string().default('graph'),
  numNodes: z.number().int().min(1),
  numFeatures: z.number().int().min(1),
  numClasses: z.number().int().min(1).optional(),
  features: z.array(z.array(z.number().int().min(0))),
  labels: z.array(z.number().int().min(0)).optional(),
  edges: z.array(z.tuple([z.number().int(), z.number().int()])),
  split: z.object({ train: z.array(z.number().int()), val: z.array(z.number().int()), test: z.array(z.number().int()) }).optional(),
});

/** Options of {@link parseCoraJson} and {@link loadCoraJson}. */
export interface GraphLoadOptions {
  /** Scale feature rows to sum 1 (default true, as in the GCN/DGI reference code). */
  rowNormalize?: boolean;
}

/**
 * Parses the Cora JSON format (`numNodes`, `numFeatures`, `features` as lists of the indices of
 * each node's 1-valued binary features, `edges` as `[u, v]` pairs, `labels`, Planetoid `split`).
 *
 * @example
 * const g = parseCoraJson(JSON.parse(text));   // g.features is dense, rows summing to 1
 */
export function parseCoraJson(json: unknown, options: GraphLoadOptions = {}, where = 'graph JSON'): Graph {
  const r = coraJson.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new SslError(
      `${where} is not in the Cora JSON format: "${issue.path.join('.')}" ${issue.message}. It needs numNodes, numFeatures, features (index lists), edges ([u, v] pairs) and optionally labels and split.`,
    );
  }
  const d = r.data;
  if (d.features.length !== d.numNodes)
    throw new SslError(`${where}: "features" has ${d.features.length} rows; numNodes is ${d.numNodes}. One index list per node is required.`);
  if (d.labels && d.labels.length !== d.numNodes) throw new SslError(`${where}: "labels" has ${d.labels.length} entries; numNodes is ${d.numNodes}.`);
  let features: Float32Array = new Float32Array(d.numNodes * d.numFeatures);
  d.features.forEach((row, i) => {
    for (const j of row) {
      if (j >= d.numFeatures) throw new SslError(`${where}: node ${i} has feature index ${j}; indices must be < numFeatures (${d.numFeatures}).`);
      features[i * d.numFeatures + j] = 1;
    }
  });
  if (options.rowNormalize ?? true) features = rowNormalize(features, d.numNodes, d.numFeatures);
  const checkIdx = (list: number[], name: string) => {
    for (const v of list) if (v < 0 || v >= d.numNodes) throw new SslError(`${where}: split "${name}" has node ${v}; must be in [0, ${d.numNodes - 1}].`);
    return Int32Array.from(list);
  };
  // Class ids index one-hot rows and per-class tables: a stray 1e9 must be named, not crash an allocation.
  const maxClasses = d.numClasses ?? d.numNodes;
  d.labels?.forEach((c, i) => {
    if (c >= maxClasses) {
      throw new SslError(
        `${where}: node ${i} has label ${c}; labels must be class ids 0..${maxClasses - 1} (${d.numClasses !== undefined ? `numClasses is ${d.numClasses}` : 'at most one class per node'}). Fix that label (or set numClasses).`,
      );
    }
  });
  const labels = d.labels ? Int32Array.from(d.labels) : undefined;
  return {
    name: d.name,
    numNodes: d.numNodes,
    numFeatures: d.numFeatures,
    features,
    edges: cleanEdges(d.edges.flat(), d.numNodes, where),
    ...(labels ? { labels, numClasses: d.numClasses ?? Math.max(...labels) + 1 } : {}),
    ...(d.split ? { split: { train: checkIdx(d.split.train, 'train'), val: checkIdx(d.split.val, 'val'), test: checkIdx(d.split.test, 'test') } } : {}),
  };
}

/**
 * Reads a graph in the Cora JSON format from disk (see {@link parseCoraJson}).
 *
 * @example
 * const cora = loadCoraJson('/data/cora/cora.json');  // 2708 nodes, 1433 features, 5278 edges
 */
export function loadCoraJson(path: string, options: GraphLoadOptions = {}): Graph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SslError(`Cannot read graph file "${path}" (${e instanceof Error ? e.message : String(e)}). Pass the path of a Cora-format JSON file.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SslError(`"${path}" is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  return parseCoraJson(json, options, `"${path}"`);
}

/**
 * Parses a user's graph from an edge list (one `u v` pair per line; `#` comments; ids are any
 * tokens, numbered in order of appearance) and optional labels (`node label` per line). Without
 * features each node gets a one-hot identity feature (fine for small graphs).
 *
 * @example
 * const g = parseEdgeList('a b\nb c\n', 'a 0\nb 0\nc 1\n');  // 3 nodes, 2 edges, labels [0, 0, 1]
 */
export function parseEdgeList(edgesText: string, labelsText?: string, name = 'edge-list'): Graph {
  const ids = new Map<string, number>();
  const id = (t: string) => {
    let v = ids.get(t);
    if (v === undefined) ids.set(t, (v = ids.size));
    return v;
  };
  const pairs: number[] = [];
  edgesText.split(/\r?\n/).forEach((line, ln) => {
    const s = line.replace(/#.*/, '').trim();
    if (!s) return;
    const tok = s.split(/[\s,]+/);
    if (tok.length < 2) throw new SslError(`Edge list line ${ln + 1} ("${line}") has ${tok.length} field; each line must be "u v".`);
    pairs.push(id(tok[0]!), id(tok[1]!));
  });
  let labels: Int32Array | undefined;
  if (labelsText !== undefined) {
    const classes = new Map<string, number>();
    const lab = new Int32Array(ids.size).fill(-1);
    labelsText.split(/\r?\n/).forEach((line, ln) => {
      const s = line.replace(/#.*/, '').trim();
      if (!s) return;
      const tok = s.split(/[\s,]+/);
      const node = ids.get(tok[0]!);
      if (tok.length < 2 || node === undefined)
        throw new SslError(`Labels line ${ln + 1} ("${line}") must be "node label" with a node that appears in the edge list.`);
      let c = classes.get(tok[1]!);
      if (c === undefined) classes.set(tok[1]!, (c = /^\d+$/.test(tok[1]!) ? Number(tok[1]) : classes.size));
      lab[node] = c;
    });
    const missing = lab.indexOf(-1);
    if (missing >= 0) throw new SslError(`Node "${[...ids.keys()][missing]}" has no label; the labels file must label every node of the edge list.`);
    labels = lab;
  }
  const n = ids.size;
  if (n === 0) throw new SslError('The edge list has no edges; it needs at least one "u v" line.');
  const features = new Float32Array(n * n);
  for (let i = 0; i < n; i++) features[i * n + i] = 1;
  return {
    name,
    numNodes: n,
    numFeatures: n,
    features,
    edges: cleanEdges(pairs, n, 'edge list'),
    ...(labels ? { labels, numClasses: Math.max(...labels) + 1 } : {}),
  };
}

/**
 * A graph as a trainer data source: `size` is the number of nodes and every batch is the whole
 * graph (full-batch training, as DGI does), so a batch size ≥ numNodes gives one step per epoch.
 *
 * @example
 * await train({ task: dgiTask, encoder, source: graphSource(cora), config: { epochs: 100, batchSize: 100_000 } });
 */
export function graphSource(graph: Graph): DataSource<GraphBatch> & { graph: Graph } {
  return {
    modality: 'graph',
    size: graph.numNodes,
    graph,
    batch(indices: Int32Array, _rng: Rng): GraphBatch {
      return {
        modality: 'graph',
        numNodes: graph.numNodes,
        numFeatures: graph.numFeatures,
        features: graph.features,
        edges: graph.edges,
        ...(graph.labels ? { labels: graph.labels } : {}),
        indices,
      };
    },
  };
}
