import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, SslError } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { graphSource, parseCoraJson, parseEdgeList, rowNormalize } from '../index';

const karatePath = fileURLToPath(new URL('./fixtures/karate.json', import.meta.url));
const karateJson = () => JSON.parse(readFileSync(karatePath, 'utf8')) as Record<string, unknown>;

describe('graph loaders', () => {
  it("parses Zachary's karate club (Cora JSON format): 34 nodes, 78 edges, 17 + 17 members", () => {
    const g = parseCoraJson(karateJson());
    expect([g.numNodes, g.numFeatures, g.edges.length / 2, g.numClasses]).toEqual([34, 34, 78, 2]);
    const deg = new Array<number>(34).fill(0);
    for (const v of g.edges) deg[v]!++;
    expect([deg[0], deg[33], deg[11]]).toEqual([16, 17, 1]); // Mr. Hi, the officer, a leaf
    expect([...g.labels!].filter((c) => c === 0)).toHaveLength(17);
    expect([g.split!.train.length, g.split!.test.length]).toEqual([2, 32]);
    // index lists → dense one-hot rows (identity features here)
    expect(g.features[0 * 34 + 0]).toBe(1);
    expect(g.features[5 * 34 + 5]).toBe(1);
    expect(g.features.reduce((a, b) => a + b, 0)).toBe(34);
  });

  it('row-normalises features, drops self-loops and duplicate edges, and rejects bad ids', () => {
    const json = {
      numNodes: 3,
      numFeatures: 4,
      features: [[0, 1], [3], []],
      edges: [
        [0, 1],
        [1, 0],
        [2, 2],
        [1, 2],
      ],
    };
    const g = parseCoraJson(json);
    expect([...g.features]).toEqual([0.5, 0.5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([...g.edges]).toEqual([0, 1, 1, 2]);
    expect([...parseCoraJson(json, { rowNormalize: false }).features.subarray(0, 4)]).toEqual([1, 1, 0, 0]);
    expect(() => parseCoraJson({ ...json, edges: [[0, 3]] })).toThrow(/edge 0 has node 3; node ids must be integers in \[0, 2\]/);
    expect(() => parseCoraJson({ ...json, features: [[9], [], []] })).toThrow(/node 0 has feature index 9/);
    expect(() => parseCoraJson({ numNodes: 3 })).toThrow(SslError);
    expect([...rowNormalize(Float32Array.of(1, 3, 0, 0), 2, 2)]).toEqual([0.25, 0.75, 0, 0]);
  });

  it('a label of 1e9 is one line naming the node and the value (not "Invalid typed array length")', () => {
    const karate = karateJson() as { labels: number[] };
    karate.labels[5] = 1e9;
    expect(() => parseCoraJson(karate, {}, 'karate.json')).toThrow(
      /^karate.json: node 5 has label 1000000000; labels must be class ids 0\.\.1 \(numClasses is 2\)\. Fix that label/,
    );
    const { numClasses: _n, ...noCount } = karate as Record<string, unknown>;
    expect(() => parseCoraJson(noCount, {}, 'karate.json')).toThrow(
      /node 5 has label 1000000000; labels must be class ids 0\.\.33 \(at most one class per node\)/,
    );
  });

  it('parses an edge list with labels; every batch of a graph source is the whole graph', () => {
    const g = parseEdgeList('# a path\na b\nb c\nb a\nc c\n', 'a x\nb x\nc y\n');
    expect(g.numNodes).toBe(3);
    expect([...g.edges]).toEqual([0, 1, 1, 2]);
    expect([...g.labels!]).toEqual([0, 0, 1]);
    expect([...g.features]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(() => parseEdgeList('a b\n', 'a 0\n')).toThrow(/Node "b" has no label/);
    const b = graphSource(g).batch(Int32Array.of(2), new Rng(0));
    expect([b.modality, b.numNodes, b.edges]).toEqual(['graph', 3, g.edges]);
  });
});
