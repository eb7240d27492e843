import * as tf from '@tensorflow/tfjs';
import { SslError } from '@ssl/core';

/**
 * A structural copy of a LayersModel (same architecture, fresh variables) holding the same
 * weights. Used for momentum (EMA) encoders: the copy's variables belong to no optimiser.
 *
 * @example
 * const keyEncoder = cloneModel(encoder); // same outputs as `encoder`, separate variables
 */
export function cloneModel(model: tf.LayersModel): tf.LayersModel {
  const cls = model.constructor as unknown as tf.serialization.SerializableConstructor<tf.LayersModel> & {
    fromConfig(cls: unknown, config: tf.serialization.ConfigDict): tf.LayersModel;
  };
  const copy = cls.fromConfig(cls, model.getConfig() as tf.serialization.ConfigDict);
  tf.tidy(() => copy.setWeights(model.getWeights()));
  return copy;
}

/**
 * Momentum (EMA) update of `target`'s trainable weights towards `source`'s:
 * θ_target ← m·θ_target + (1 − m)·θ_source, as MoCo updates its key encoder. Batch-norm moving
 * statistics (non-trainable) are left to the target's own forward passes.
 *
 * @example
 * emaUpdate(keyEncoder, encoder, 0.999);
 */
export function emaUpdate(target: tf.LayersModel, source: tf.LayersModel, momentum: number): void {
  if (!(momentum >= 0 && momentum <= 1)) throw new SslError(`emaUpdate momentum must be in [0, 1], got ${momentum}.`);
  const t = target.trainableWeights;
  const s = source.trainableWeights;
  if (t.length !== s.length) throw new SslError(`emaUpdate: target has ${t.length} trainable weights, source ${s.length}; the architectures differ.`);
  tf.tidy(() => {
    t.forEach((w, i) => {
      const v = w.read() as tf.Variable;
      v.assign(v.mul(momentum).add(s[i]!.read().mul(1 - momentum)));
    });
  });
}

/** The variables of a model, for a task state's checkpoint list. */
export function modelVariables(model: tf.LayersModel): tf.Variable[] {
  return model.weights.map((w) => w.read() as tf.Variable);
}

// Row L2 normalisation is shared by every family: it lives in @ssl/core.
export { l2NormalizeRows } from '@ssl/core';

const detachOp = tf.customGrad(((x: tf.Tensor) => ({ value: x.clone(), gradFunc: () => tf.zerosLike(x) })) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * The same values with no gradient flowing back (tfjs has no stop-gradient op): keys of a
 * momentum encoder, memory-bank targets.
 *
 * @example
 * const k = detach(keyProjector.apply(keyFeatures) as tf.Tensor2D);
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return detachOp(x) as T;
}

/**
 * EMA copies of models (BYOL's target network, DINO's teacher): same weights at creation,
 * separate variables that belong to no optimiser, moved by {@link emaUpdate}.
 *
 * @example
 * const target = momentumTwin([encoder, heads.projector]);
 * target.update([encoder, heads.projector], 0.99); // after each optimiser step
 */
export interface MomentumTwin {
  /** The copies, in the order given. */
  models: tf.LayersModel[];
  /** All their variables (trainable and BN statistics), for a task state's checkpoint list. */
  variables(): tf.Variable[];
  /** θ_copy ← m·θ_copy + (1 − m)·θ_source for each pair. */
  update(sources: tf.LayersModel[], momentum: number): void;
  dispose(): void;
}

/** Builds a {@link MomentumTwin} of `models` (see there). */
export function momentumTwin(models: tf.LayersModel[]): MomentumTwin {
  const copies = models.map(cloneModel);
  return {
    models: copies,
    variables: () => copies.flatMap(modelVariables),
    update: (sources, momentum) => {
      if (sources.length !== copies.length) throw new SslError(`momentumTwin.update got ${sources.length} source models for ${copies.length} copies.`);
      copies.forEach((c, i) => emaUpdate(c, sources[i]!, momentum));
    },
    dispose: () => tf.dispose(copies.flatMap(modelVariables)),
  };
}
