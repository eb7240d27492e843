import { describe, expect, it } from 'vitest';
import { builtinRegistry, main, type Io } from '../index';

describe('joint-embedding methods in the CLI', () => {
  it('`ssl list` shows BYOL, SimSiam, Barlow Twins, VICReg, SwAV and DINO with their config fields', async () => {
    const out: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: () => {} };
    expect(await main(['list', '--json'], io)).toBe(0);
    const { methods } = JSON.parse(out.join('\n')) as { methods: Array<{ name: string; family: string; config: Array<{ name: string }> }> };
    const byName = new Map(methods.map((m) => [m.name, m]));
    for (const name of ['byol', 'simsiam', 'barlow-twins', 'vicreg', 'swav', 'dino']) {
      expect(byName.get(name)?.family).toBe('contrastive');
      expect(builtinRegistry().find(name).group).toBe('joint-embedding');
    }
    expect(byName.get('simsiam')!.config.map((f) => f.name)).toContain('stopGradient');
    expect(byName.get('swav')!.config.map((f) => f.name)).toEqual(expect.arrayContaining(['epsilon', 'sinkhornIterations', 'localCrops']));
  });
});
