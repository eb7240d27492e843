import * as tf from '@tensorflow/tfjs';
import { Rng, createRegistry, initBackend, train, type AnyPretextTask, type Heads, type LossContext } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  barlowTwinsTask,
  byolConfig,
  byolTask,
  contrastiveTasks,
  dinoConfig,
  dinoLogits,
  dinoTask,
  simsiamTask,
  swavConfig,
  swavTask,
  vicregTask,
  type ByolState,
  type DinoState,
} from '../index';

beforeAll(async () => {
  await initBackend();
});

const snapshot = (models: tf.LayersModel[]) => models.flatMap((m) => m.trainableWeights.map((w) => Array.from(w.read().dataSync())));
const gradSum = (g: Record<string, tf.Tensor>) => Object.values(g).reduce((s, t) => s + t.abs().sum().dataSync()[0]!, 0);
const raw = loadMnist('train', { limit: 8 }).batch(
  Int32Array.from({ length: 8 }, (_, i) => i),
  new Rng(0),
);

/** One hand-driven training step (plain SGD) as the trainer does it; returns the disposable batch. */
function sgdStep(
  task: AnyPretextTask,
  config: unknown,
  encoder: tf.LayersModel,
  heads: Heads,
  state: unknown,
  step: number,
  onlineVars: tf.Variable[],
  frozenVars: tf.Variable[],
) {
  const batch = tf.tidy(() => task.prepare(raw, { config, rng: new Rng(100 + step), training: true }));
  const ctx = {
    config,
    encoder,
    heads,
    batch,
    state,
    training: true,
    encode: (x: tf.Tensor) => encoder.apply(x, { training: true }) as tf.Tensor2D,
  } as LossContext<unknown>;
  const frozen = tf.variableGrads(() => task.loss(ctx), frozenVars);
  const frozenGrad = gradSum(frozen.grads);
  // A second loss call on the same batch: the state it stashes (DINO: the teacher mean) is replaced, with the same values.
  const online = tf.variableGrads(() => task.loss(ctx), onlineVars);
  const onlineGrad = gradSum(online.grads);
  tf.tidy(() => onlineVars.forEach((v) => v.assign(v.sub(online.grads[v.name]!.mul(0.05)))));
  tf.dispose([frozen.value, online.value, ...Object.values(frozen.grads), ...Object.values(online.grads)]);
  return { batch, frozenGrad, onlineGrad };
}

const varsOf = (models: tf.LayersModel[]) => models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));

describe('joint-embedding methods: registry and paper defaults', () => {
  it('all six are registered in the contrastive family, grouped as joint-embedding', () => {
    const r = createRegistry().use(contrastiveTasks);
    for (const name of ['byol', 'simsiam', 'barlow-twins', 'vicreg', 'swav', 'dino'] as const) {
      expect(r.get(name).family).toBe('contrastive');
      expect(r.get(name).group).toBe('joint-embedding');
    }
    expect(r.parseConfig('swav', {})).toMatchObject({ epsilon: 0.05, sinkhornIterations: 3, temperature: 0.1, localCrops: 0 });
    expect(r.parseConfig('dino', {})).toMatchObject({ teacherTemperature: 0.04, studentTemperature: 0.1, centerMomentum: 0.9 });
    expect(r.parseConfig('vicreg', {})).toMatchObject({ invarianceWeight: 25, varianceWeight: 25, covarianceWeight: 1 });
    expect(r.parseConfig('simsiam', {}).stopGradient).toBe(true);
    expect(r.parseConfig('barlow-twins', {}).lambda).toBe(5e-3);
    expect(() => r.parseConfig('byol', { baseMomentum: 1.5 })).toThrow(/baseMomentum/);
  });
});

describe('BYOL', () => {
  it('the target gets no gradient and follows θt ← τk·θt + (1 − τk)·θo with the cosine τk, step by step', () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 3 });
    const config = byolConfig.parse({ baseMomentum: 0.9, projectionHidden: 16, projectionDim: 8 });
    const ctx = { config, featureDim: 8, inputShape: [28, 28, 1], seed: 5 };
    const heads = byolTask.createHeads(ctx) as Heads;
    const state = byolTask.createState!({ ...ctx, encoder, heads: heads as never }) as ByolState;
    const online = [encoder, heads.projector!];
    expect(snapshot(state.target.models)).toEqual(snapshot(online));
    const totalSteps = 10;
    for (let k = 0; k < 3; k++) {
      const before = snapshot(state.target.models);
      const { batch, frozenGrad, onlineGrad } = sgdStep(
        byolTask,
        config,
        encoder,
        heads,
        state,
        k,
        varsOf([...online, heads.predictor!]),
        varsOf(state.target.models),
      );
      expect(frozenGrad).toBe(0);
      expect(onlineGrad).toBeGreaterThan(0);
      const after = snapshot(online);
      state.afterStep!({ encoder, heads, batch, step: k, totalSteps });
      const tau = 1 - ((1 - 0.9) * (Math.cos((Math.PI * k) / totalSteps) + 1)) / 2;
      expect(state.lastMomentum).toBeCloseTo(tau, 12);
      snapshot(state.target.models).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(tau * before[i]![j]! + (1 - tau) * after[i]![j]!, 5)));
      tf.dispose(Object.values(batch));
    }
    // τ rises: 0.9 at step 0, closer to 1 later.
    expect(state.lastMomentum).toBeGreaterThan(0.9);
    state.dispose();
    encoder.dispose();
  });
});

describe('DINO', () => {
  it('the teacher gets no gradient, follows the EMA, and the centre is the EMA (m = 0.9) of the teacher batch means', () => {
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 4 });
    const config = dinoConfig.parse({ baseMomentum: 0.8, headHidden: 16, bottleneckDim: 8, outDim: 12 });
    const ctx = { config, featureDim: 8, inputShape: [28, 28, 1], seed: 6 };
    const heads = dinoTask.createHeads(ctx) as Heads;
    const state = dinoTask.createState!({ ...ctx, encoder, heads: heads as never }) as DinoState;
    const student = [encoder, heads.projector!, heads.prototypes!];
    let center = new Array<number>(12).fill(0);
    expect(Array.from(state.center.dataSync())).toEqual(center);
    for (let k = 0; k < 3; k++) {
      const before = snapshot(state.teacher.models);
      // The teacher's outputs for this step's batch, computed independently of the loss.
      const batch0 = tf.tidy(() => dinoTask.prepare(raw, { config, rng: new Rng(100 + k), training: true }));
      const [te, tp, tq] = state.teacher.models as [tf.LayersModel, tf.LayersModel, tf.LayersModel];
      const teacherOut = tf.tidy(() => dinoLogits(tp.apply(te.apply(batch0.x!, { training: true }), { training: true }) as tf.Tensor2D, tq).arraySync());
      tf.dispose(Object.values(batch0));
      const { batch, frozenGrad, onlineGrad } = sgdStep(dinoTask, config, encoder, heads, state, k, varsOf(student), varsOf(state.teacher.models));
      expect(frozenGrad).toBe(0);
      expect(onlineGrad).toBeGreaterThan(0);
      const after = snapshot(student);
      state.afterStep!({ encoder, heads, batch, step: k, totalSteps: 6 });
      const batchMean = center.map((_, j) => teacherOut.reduce((s, row) => s + row[j]!, 0) / teacherOut.length);
      center = center.map((c, j) => 0.9 * c + 0.1 * batchMean[j]!);
      Array.from(state.center.dataSync()).forEach((v, j) => expect(v).toBeCloseTo(center[j]!, 5));
      const tau = 1 - ((1 - 0.8) * (Math.cos((Math.PI * k) / 6) + 1)) / 2;
      snapshot(state.teacher.models).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(tau * before[i]![j]! + (1 - tau) * after[i]![j]!, 5)));
      tf.dispose(Object.values(batch));
    }
    expect(center.some((c) => Math.abs(c) > 1e-3)).toBe(true);
    state.dispose();
    encoder.dispose();
  });
});

describe('multi-crop and prototypes', () => {
  it('local crops have the requested size and count; SwAV prototypes are unit-length after a step', async () => {
    const c = swavConfig.parse({ localCrops: 3, localCropSize: 14 });
    const b = swavTask.prepare(raw, { config: c, rng: new Rng(1), training: true });
    expect(b.x!.shape).toEqual([16, 28, 28, 1]);
    expect(b.local!.shape).toEqual([24, 14, 14, 1]);
    tf.dispose(Object.values(b));
    const d = dinoTask.prepare(raw, { config: dinoConfig.parse({ localCrops: 2 }), rng: new Rng(1), training: true });
    expect(d.local!.shape).toEqual([16, 28, 28, 1]);
    tf.dispose(Object.values(d));

    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 2 });
    const r = await train({
      task: swavTask,
      taskConfig: { prototypes: 6, projectionHidden: 8, projectionDim: 4, localCrops: 2, localCropSize: 14 },
      encoder,
      source: loadMnist('train', { limit: 16 }),
      config: { epochs: 1, batchSize: 8, seed: 1 },
    });
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    const w = r.heads.prototypes!.trainableWeights[0]!.read() as tf.Tensor2D;
    Array.from(w.norm('euclidean', 0).dataSync()).forEach((n) => expect(n).toBeCloseTo(1, 5));
    tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((v) => v.read())));
    encoder.dispose();
  });
});

const small: Array<[string, AnyPretextTask, Record<string, unknown>]> = [
  ['byol', byolTask, { projectionHidden: 8, projectionDim: 4 }],
  ['simsiam', simsiamTask, { projectionHidden: 8, projectionDim: 4, predictorHidden: 2 }],
  ['barlow-twins', barlowTwinsTask, { projectionHidden: 8, projectionDim: 4 }],
  ['vicreg', vicregTask, { projectionHidden: 8, projectionDim: 4 }],
  ['swav', swavTask, { projectionHidden: 8, projectionDim: 4, prototypes: 6, localCrops: 1, localCropSize: 14 }],
  ['dino', dinoTask, { headHidden: 8, bottleneckDim: 4, outDim: 6, localCrops: 1 }],
];

describe.each(small)('%s in the trainer', (_name, task, taskConfig) => {
  it('keeps tf.memory().numTensors flat from step to step and logs the collapse metrics', async () => {
    const source = loadMnist('train', { limit: 24 });
    const encoder = createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 1 });
    const run = (steps: number) =>
      train({ task, taskConfig, encoder, source, config: { epochs: 1, batchSize: 6, seed: 1, embeddingEvery: 1 }, stopAfterSteps: steps });
    const dispose = (r: Awaited<ReturnType<typeof run>>) => tf.dispose(Object.values(r.heads).flatMap((h) => h.weights.map((w) => w.read())));
    dispose(await run(1));
    const base = tf.memory().numTensors;
    const r1 = await run(1);
    dispose(r1);
    expect(tf.memory().numTensors).toBe(base);
    const r3 = await run(3);
    expect(r3.history).toHaveLength(3);
    dispose(r3);
    // 3 steps leave exactly what 1 step leaves: nothing accumulates per step.
    expect(tf.memory().numTensors).toBe(base);
    for (const h of r3.history) {
      expect(Number.isFinite(h.loss)).toBe(true);
      expect(h.embStd).toBeGreaterThan(0);
      expect(h.embRank).toBeGreaterThanOrEqual(1);
    }
    encoder.dispose();
  });
});
