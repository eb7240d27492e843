import { simclrTask } from './simclr';
import { mocoTask } from './moco';
import { npidTask } from './npid';
import { dimTask } from './dim';
import { dgiTask } from './dgi';
import { cmcTask } from './cmc';
import { cpcTask } from './cpc';
import { cpcSequenceTask } from './cpc-sequence';

export * from './losses';
export * from './simclr';
export * from './moco';
export * from './momentum';
export * from './npid';
export * from './dim';
export * from './dgi';
export * from './cmc';
export * from './cpc';
export * from './cpc-sequence';

/**
 * The contrastive pretext tasks implemented so far, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(contrastiveTasks);
 */
export const contrastiveTasks = { tasks: [simclrTask, mocoTask, npidTask, dimTask, dgiTask, cmcTask, cpcTask, cpcSequenceTask] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    simclr: typeof simclrTask;
    moco: typeof mocoTask;
    npid: typeof npidTask;
    dim: typeof dimTask;
    dgi: typeof dgiTask;
    cmc: typeof cmcTask;
    cpc: typeof cpcTask;
    'cpc-sequence': typeof cpcSequenceTask;
  }
}
