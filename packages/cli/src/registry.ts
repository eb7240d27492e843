import { createRegistry } from '@ssl/core';
import { contextTasks } from '@ssl/context';
import { contrastiveTasks } from '@ssl/contrastive';
import { temporalTasks } from '@ssl/temporal';

/**
 * The registry the CLI uses: every family package's tasks. Plugin authors build their own
 * with `createRegistry().use(contextTasks).use(myTask)` and pass it to {@link main}.
 */
export function builtinRegistry() {
  return createRegistry().use(contextTasks).use(contrastiveTasks).use(temporalTasks);
}
