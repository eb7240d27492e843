import { tcnTask } from './tcn';
import { shuffleLearnTask } from './shuffle-learn';

export * from './losses';
export * from './units';
export * from './tcn';
export * from './shuffle-learn';

/**
 * The temporal pretext tasks, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(temporalTasks);
 */
export const temporalTasks = { tasks: [tcnTask, shuffleLearnTask] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    tcn: typeof tcnTask;
    'shuffle-learn': typeof shuffleLearnTask;
  }
}
