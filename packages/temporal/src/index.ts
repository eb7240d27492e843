import { tcnTask } from './tcn';
import { shuffleLearnTask } from './shuffle-learn';
import { trackingTask } from './tracking';
import { nextSentenceTask } from './next-sentence';
import { sentenceOrderTask } from './sentence-order';

export * from './losses';
export * from './units';
export * from './tcn';
export * from './shuffle-learn';
export * from './tracking';
export * from './text-segments';
export * from './next-sentence';
export * from './sentence-order';

/**
 * The temporal pretext tasks, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(temporalTasks);
 */
export const temporalTasks = { tasks: [tcnTask, shuffleLearnTask, trackingTask, nextSentenceTask, sentenceOrderTask] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    'next-sentence': typeof nextSentenceTask;
    'sentence-order': typeof sentenceOrderTask;
    tcn: typeof tcnTask;
    'shuffle-learn': typeof shuffleLearnTask;
    tracking: typeof trackingTask;
  }
}
