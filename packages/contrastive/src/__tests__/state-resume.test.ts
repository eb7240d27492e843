import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend, train, type AnyPretextTask } from '@ssl/core';
import { loadMnist } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { byolTask, dinoTask, mocoTask, npidTask, swavTask } from '../index';

beforeAll(async () => {
  await initBackend();
});

// A stopped and resumed run only replays the uninterrupted one if the task state (MoCo's key
// encoder, queue and pointer; NPID's bank and written rows; BYOL's target; DINO's teacher and
// centre) is checkpointed and restored.
describe.each([
  ['moco', mocoTask as AnyPretextTask, { queueSize: 24, projectionHidden: 8, projectionDim: 8 }],
  ['npid', npidTask as AnyPretextTask, { bankSize: 48, negatives: 16, featureDim: 8 }],
  // BYOL's target network, DINO's teacher and centre, SwAV's renormalised prototypes.
  ['byol', byolTask as AnyPretextTask, { projectionHidden: 8, projectionDim: 8 }],
  ['dino', dinoTask as AnyPretextTask, { headHidden: 8, bottleneckDim: 4, outDim: 8 }],
  ['swav', swavTask as AnyPretextTask, { projectionHidden: 8, projectionDim: 4, prototypes: 6 }],
])('%s state across resume', (_name, task, taskConfig) => {
  it('a resumed run has the same losses as an uninterrupted one', async () => {
    const source = loadMnist('train', { limit: 48 });
    const config = { epochs: 2, batchSize: 16, lr: 3e-3, seed: 4, checkpointEvery: 1 };
    const enc = () => createConvNet({ inputShape: [28, 28, 1], widths: [4, 8], seed: 2 });
    const a = await train({ task, taskConfig, encoder: enc(), source, config });
    const dir = mkdtempSync(path.join(tmpdir(), 'ssl-contrastive-resume-'));
    await train({ task, taskConfig, encoder: enc(), source, config, runDir: dir, stopAfterSteps: 4 });
    const b = await train({ task, taskConfig, encoder: enc(), source, config, runDir: dir, resume: true });
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
  });
});
