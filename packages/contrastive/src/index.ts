import { simclrTask } from './simclr';

export * from './losses';
export * from './simclr';

/**
 * The contrastive pretext tasks implemented so far, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(contrastiveTasks);
 */
export const contrastiveTasks = { tasks: [simclrTask] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    simclr: typeof simclrTask;
  }
}
