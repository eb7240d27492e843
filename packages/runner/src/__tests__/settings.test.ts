import { describe, expect, it } from 'vitest';
import { builtinCatalogue } from '../catalogue';
import { buildRunConfig } from '../config';
import { routeSets, settableKeys } from '../settings';

describe('--set routing by namespace', () => {
  const spaces = { trainer: ['lr', 'momentum', 'epochs'], task: ['momentum', 'queue'], encoder: ['hidden'], probe: ['epochs'] };

  it('namespaced keys go to their namespace; a unique bare key to the one that has it', () => {
    expect(routeSets({ 'task.momentum': 0.999, 'trainer.momentum': 0.8, lr: 0.01, hidden: [4], 'probe.epochs': 3 }, spaces, 'x')).toEqual({
      trainer: { momentum: 0.8, lr: 0.01 },
      task: { momentum: 0.999 },
      encoder: { hidden: [4] },
      probe: { epochs: 3 },
    });
  });

  it('an ambiguous bare key is refused in one line naming every candidate', () => {
    expect(() => routeSets({ momentum: 0.9 }, spaces, 'x')).toThrow('--set momentum is ambiguous: use trainer.momentum or task.momentum.');
    expect(() => routeSets({ epochs: 2 }, spaces, 'x')).toThrow('--set epochs is ambiguous: use trainer.epochs or probe.epochs.');
  });

  it('unknown keys list the forms that work', () => {
    expect(() => routeSets({ lrr: 1 }, spaces, 'method "m"')).toThrow(
      /Unknown --set key "lrr" for method "m". Must be one of \[lr, trainer.momentum, trainer.epochs, task.momentum, queue, hidden, probe.epochs\]/,
    );
    expect(() => routeSets({ 'task.lr': 1 }, spaces, 'x')).toThrow(/Unknown --set key "task.lr" for x: task has no field "lr"/);
    expect(settableKeys(spaces)).toContain('queue');
  });

  it('MoCo: task.momentum reaches the task, trainer.momentum the optimiser, the bare key neither', () => {
    const catalogue = builtinCatalogue();
    const cfg = buildRunConfig(catalogue, { method: 'moco', set: ['task.momentum=0.999'] });
    expect(cfg.taskConfig.momentum).toBe(0.999);
    expect(cfg.trainer.momentum).not.toBe(0.999);
    expect(buildRunConfig(catalogue, { method: 'moco', set: ['trainer.momentum=0.5'] }).trainer.momentum).toBe(0.5);
    expect(() => buildRunConfig(catalogue, { method: 'moco', set: ['momentum=0.999'] })).toThrow(
      '--set momentum is ambiguous: use trainer.momentum or task.momentum.',
    );
  });

  it("the mlp encoder's hidden is reachable as encoder.hidden even where the task has a hidden field", () => {
    const catalogue = builtinCatalogue();
    const withHidden = catalogue.tasks.list().find((t) => t.modality === 'sequence' && 'hidden' in ((t.config as { shape?: object }).shape ?? {}));
    expect(withHidden).toBeDefined();
    const cfg = buildRunConfig(catalogue, { method: withHidden!.name, dataset: 'sensors', encoder: 'mlp', set: { 'encoder.hidden': [16] } });
    expect(cfg.encoderConfig.hidden).toEqual([16]);
    expect(() => buildRunConfig(catalogue, { method: withHidden!.name, dataset: 'sensors', encoder: 'mlp', set: { hidden: [16] } })).toThrow(
      /--set hidden is ambiguous: use task.hidden or encoder.hidden/,
    );
  });
});
