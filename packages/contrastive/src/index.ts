import { simclrTask } from './simclr';
import { mocoTask } from './moco';
import { npidTask } from './npid';
import { dimTask } from './dim';
import { dgiTask } from './dgi';
import { cmcTask } from './cmc';
import { cpcTask } from './cpc';
import { cpcSequenceTask } from './cpc-sequence';
import { byolTask } from './byol';
import { simsiamTask } from './simsiam';
import { barlowTwinsTask } from './barlow-twins';
import { vicregTask } from './vicreg';
import { swavTask } from './swav';
import { dinoTask } from './dino';

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
export * from './joint';
export * from './byol';
export * from './simsiam';
export * from './barlow-twins';
export * from './vicreg';
export * from './swav';
export * from './dino';

/**
 * The contrastive pretext tasks implemented so far, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(contrastiveTasks);
 */
export const contrastiveTasks = {
  tasks: [
    simclrTask,
    mocoTask,
    npidTask,
    dimTask,
    dgiTask,
    cmcTask,
    cpcTask,
    cpcSequenceTask,
    byolTask,
    simsiamTask,
    barlowTwinsTask,
    vicregTask,
    swavTask,
    dinoTask,
  ],
} as const;

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
    byol: typeof byolTask;
    simsiam: typeof simsiamTask;
    'barlow-twins': typeof barlowTwinsTask;
    vicreg: typeof vicregTask;
    swav: typeof swavTask;
    dino: typeof dinoTask;
  }
}
