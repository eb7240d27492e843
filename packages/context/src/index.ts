import { autoencoderTask } from './autoencoder';
import { rotationTask } from './rotation';

export * from './rotation';
export * from './autoencoder';
export * from './heads';
export * from './word2vec';
export * from './permutations';

/**
 * Every context-based pretext task, as one plugin for `registry.use(contextTasks)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks);
 * registry.get('rotation');
 */
export const contextTasks = { tasks: [rotationTask, autoencoderTask] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    rotation: typeof rotationTask;
    autoencoder: typeof autoencoderTask;
  }
}
