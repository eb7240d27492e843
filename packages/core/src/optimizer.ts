import * as tf from '@tensorflow/tfjs';

/** Optimiser settings; `weightDecay` is decoupled (AdamW / SGDW style) and skips biases and norms. */
export interface OptimizerSettings {
  kind: 'adam' | 'sgd';
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/**
 * Adam and SGD-with-momentum written on plain tensors, so their whole state can be saved in
 * a checkpoint and restored bit for bit (tfjs's own optimisers hide parts of it).
 */
export class Optimizer {
  /** Steps taken (Adam's bias correction uses it). */
  t = 0;
  private readonly slots: Array<tf.Variable[]> = [];

  constructor(
    readonly settings: OptimizerSettings,
    private readonly vars: tf.Variable[],
  ) {
    const n = settings.kind === 'adam' ? 2 : 1;
    for (const v of vars) {
      const s: tf.Variable[] = [];
      // tf.variable keeps its own reference; tidy frees the zeros it was made from.
      for (let i = 0; i < n; i++) s.push(tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
      this.slots.push(s);
    }
  }

  /** Applies one update with learning rate `lr`; `grads[i]` belongs to `vars[i]`. */
  apply(grads: Array<tf.Tensor | undefined>, lr: number): void {
    const { kind, momentum, beta1, beta2, epsilon, weightDecay } = this.settings;
    this.t += 1;
    const t = this.t;
    // One tidy per variable: each update's temporaries (about ten tensors of the variable's size
    // for Adam) are freed before the next, instead of all of them living until the last update,
    // which made the optimiser step, not the backward pass, the peak of a ResNet-18 step.
    this.vars.forEach((v, i) => {
      const g = grads[i];
      if (!g) return;
      tf.tidy(() => {
        const slots = this.slots[i]!;
        let update: tf.Tensor;
        if (kind === 'adam') {
          const m = slots[0]!;
          const s = slots[1]!;
          m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
          s.assign(s.mul(beta2).add(g.square().mul(1 - beta2)));
          const mHat = m.div(1 - beta1 ** t);
          const sHat = s.div(1 - beta2 ** t);
          update = mHat.div(sHat.sqrt().add(epsilon));
        } else {
          const buf = slots[0]!;
          buf.assign(buf.mul(momentum).add(g));
          update = buf;
        }
        // Decay only weight matrices / kernels, as is standard: biases and norm scales stay free.
        if (weightDecay > 0 && v.rank >= 2) update = update.add(v.mul(weightDecay));
        v.assign(v.sub(update.mul(lr)));
      });
    });
  }

  /** The optimiser's state tensors, in a fixed order, for checkpoints. */
  stateVariables(): tf.Variable[] {
    return this.slots.flat();
  }

  dispose(): void {
    for (const v of this.slots.flat()) v.dispose();
    this.slots.length = 0;
  }
}

/** Learning rate at `step` of `total`: linear warm-up, then cosine (or linear) decay to 0, or constant. */
export function learningRateAt(step: number, total: number, base: number, warmupSteps: number, schedule: 'cosine' | 'constant' | 'linear'): number {
  if (warmupSteps > 0 && step < warmupSteps) return (base * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return base;
  const span = Math.max(1, total - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  // word2vec's schedule: linear to (almost) 0; the floor keeps the last steps from being no-ops.
  if (schedule === 'linear') return base * Math.max(1 - progress, 1e-4);
  return 0.5 * base * (1 + Math.cos(Math.PI * progress));
}
