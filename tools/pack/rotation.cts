// CommonJS consumer of the packed @ssl/context alone.
import { initBackend, train } from '@ssl/core';
import { contextTasks, rotationBatch } from '@ssl/context';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';

async function main(): Promise<void> {
  await initBackend();
  const task = contextTasks.tasks.find((t) => t.name === 'rotation')!;
  const result = await train({ task, encoder: createConvNet({ widths: [8, 16, 32], seed: 0 }), source: loadMnist('train', { limit: 64 }), config: { epochs: 1, batchSize: 32 } });
  const { labels } = rotationBatch(new Float32Array(4 * 4), 1, 4, 4, 1);
  console.log(JSON.stringify({ consumer: 'cjs', package: '@ssl/context', steps: result.steps, rotationLabels: Array.from(labels) }));
  if (result.steps !== 2 || labels.join() !== '0,1,2,3') throw new Error('CJS context consumer failed');
}
main().catch((e) => {
  console.error(e);
  throw e;
});
