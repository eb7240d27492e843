import * as tf from '@tensorflow/tfjs';
import { SslError, type DataSource } from '@ssl/core';
import { graphSource, loadCoraJson, type Graph } from '@ssl/data';
import { ENCODERS, createEncoder, createGcn } from '@ssl/encoders';
import type { FeatureSet } from '@ssl/eval';
import { cachedLoader, registerDataset } from '../datasets';

/** Loads (once per path) a Cora-format graph, feature rows normalised to sum 1 as in DGI. */
const graphAt: (path: string) => Graph = cachedLoader((path: string) => loadCoraJson(path));

/** Frozen embeddings of every node of the graph (one full-graph forward pass), rows of `nodes`. */
function nodeFeatures(embeddings: Float32Array, dim: number, nodes: Int32Array, labels: Int32Array | undefined): FeatureSet {
  const features = new Float32Array(nodes.length * dim);
  nodes.forEach((v, i) => features.set(embeddings.subarray(v * dim, (v + 1) * dim), i * dim));
  return { features, n: nodes.length, dim, labels: labels ? Int32Array.from(nodes, (v) => labels[v]!) : undefined };
}

// `cora:PATH`: a graph in the Cora JSON format (see @ssl/data's parseCoraJson), trained
// full-batch; the probe is logistic regression on frozen node embeddings with the graph's split
// (Planetoid on Cora: 140 train / 1000 test).
registerDataset({
  name: 'cora:',
  summary: 'graph in the Cora JSON format (node features as index lists, edges, labels, split), e.g. cora:/data/cora/cora.json',
  modality: 'graph',
  defaultEncoder: 'gcn',
  trainSource: (arg) => graphSource(graphAt(arg)),
  inputShape: (source) => [(source as ReturnType<typeof graphSource>).graph.numFeatures],
  createEncoder(name, config, source: DataSource<unknown>, seed) {
    const g = (source as ReturnType<typeof graphSource>).graph;
    if (name !== 'gcn') return createEncoder(name, config, [g.numFeatures], seed);
    const c = ENCODERS.gcn.config.safeParse(config);
    if (!c.success) throw new SslError(`Invalid encoder "gcn" config ${JSON.stringify(config)}: ${c.error.issues[0]!.message}. It takes { widths: number[] }, e.g. --set encoder.widths=[512].`);
    return createGcn({ numFeatures: g.numFeatures, numNodes: g.numNodes, edges: g.edges, widths: c.data.widths, seed });
  },
  async probeFeatures(encoder, arg) {
    const g = graphAt(arg);
    if (!g.split || !g.labels) throw new SslError(`Graph "${arg}" has no labels or no split, so no probe can be measured. Add "labels" and "split": { train, val, test } to the JSON.`);
    const out = tf.tidy(() => encoder.predict(tf.tensor2d(g.features, [g.numNodes, g.numFeatures]), { batchSize: g.numNodes }) as tf.Tensor2D);
    const embeddings = (await out.data()) as Float32Array;
    const dim = out.shape[1];
    out.dispose();
    return { train: nodeFeatures(embeddings, dim, g.split.train, g.labels), test: nodeFeatures(embeddings, dim, g.split.test, g.labels) };
  },
});
