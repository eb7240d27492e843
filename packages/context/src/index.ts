import { autoencoderTask } from './autoencoder';
import { rotationTask } from './rotation';
import { word2vecCbowTask, word2vecSkipgramTask } from './word2vec';
import { relativeLocationTask } from './relative-location';
import { jigsawTask } from './jigsaw';
import { contextEncoderTask } from './context-encoder';
import { colorizationTask } from './colorization';
import { splitBrainTask } from './split-brain';
import { maskedLmTask } from './masked-lm';
import { maeTask } from './mae';

export * from './rotation';
export * from './autoencoder';
export * from './heads';
export * from './word2vec';
export * from './permutations';
export * from './patches';
export * from './relative-location';
export * from './jigsaw';
export * from './context-encoder';
export * from './lab';
export * from './colorization';
export * from './split-brain';
export * from './masked-lm';
export * from './mae';

/**
 * Every context-based pretext task, as one plugin for `registry.use(contextTasks)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks);
 * registry.get('rotation');
 */
export const contextTasks = {
  tasks: [
    rotationTask,
    autoencoderTask,
    relativeLocationTask,
    jigsawTask,
    contextEncoderTask,
    colorizationTask,
    splitBrainTask,
    word2vecSkipgramTask,
    word2vecCbowTask,
    maskedLmTask,
    maeTask,
  ],
} as const;

declare module '@ssl/core' {
  interface TaskRegister {
    'word2vec-skipgram': typeof word2vecSkipgramTask;
    'word2vec-cbow': typeof word2vecCbowTask;
    rotation: typeof rotationTask;
    autoencoder: typeof autoencoderTask;
    'relative-location': typeof relativeLocationTask;
    jigsaw: typeof jigsawTask;
    'context-encoder': typeof contextEncoderTask;
    colorization: typeof colorizationTask;
    'split-brain': typeof splitBrainTask;
    'masked-lm': typeof maskedLmTask;
    mae: typeof maeTask;
  }
}
