import { describe, expect, it } from 'vitest';
import { compareSpecs, flattenSpec } from './spec-diff';

describe("comparing runs' settings", () => {
  it('flattens nested settings to dotted keys, arrays whole', () => {
    expect(flattenSpec({ name: 'a', optimizer: { kind: 'adamw', lr: 0.001 }, model: { layers: [784, 10] } })).toEqual({
      name: '"a"',
      'optimizer.kind': '"adamw"',
      'optimizer.lr': '0.001',
      'model.layers': '[784,10]',
    });
  });
  it('lists every key of every run and marks those that differ, a missing one as empty', () => {
    const rows = compareSpecs([
      { optimizer: { lr: 0.001 }, rounds: 10 },
      { optimizer: { lr: 0.003 }, rounds: 10, evalEvery: 5 },
    ]);
    expect(rows).toEqual([
      { key: 'evalEvery', values: ['', '5'], differs: true },
      { key: 'optimizer.lr', values: ['0.001', '0.003'], differs: true },
      { key: 'rounds', values: ['10', '10'], differs: false },
    ]);
  });
});
