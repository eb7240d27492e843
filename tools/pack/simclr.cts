// CommonJS consumer of the packed @ssl/core + @ssl/contrastive: the same packages through `require`.
import { initBackend, train, createRegistry } from '@ssl/core';
import { contrastiveTasks, ntXentLoss } from '@ssl/contrastive';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';

async function main(): Promise<void> {
  const backend = await initBackend();
  const task = createRegistry().use(contrastiveTasks).get('simclr');
  const result = await train({ task, encoder: createConvNet({ widths: [8, 16, 32], seed: 0 }), source: loadMnist('train', { limit: 128 }), config: { epochs: 1, batchSize: 64 } });
  const out = { consumer: 'cjs', backend: backend.name, steps: result.steps, finalLoss: result.history.at(-1)!.loss, ntXent: typeof ntXentLoss };
  console.log(JSON.stringify(out));
  if (result.steps !== 2 || !Number.isFinite(out.finalLoss)) throw new Error(`CJS consumer failed: ${JSON.stringify(out)}`);
}
main().catch((e) => {
  console.error(e);
  throw e;
});
