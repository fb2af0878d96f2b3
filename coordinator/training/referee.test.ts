import { describe, expect, it } from 'vitest';
import { initParams } from '../../kernels/models/index';
import { parseTrainingSpec } from '../../protocol/job';
import { loadFashionMnist } from '../data/datasets';
import { Referee } from './referee';

describe('referee', () => {
  it('closes after the recomputations under way, which finish instead of dying with the thread', async () => {
    const spec = parseTrainingSpec({
      name: 'referee',
      model: { kind: 'mlp', layers: [784, 64, 10] },
      dataset: { name: 'fashion-mnist', split: 'train' },
      optimizer: { kind: 'sgd', lr: 0.1 },
      rounds: 1,
      globalBatch: 256,
      shardSize: 256,
    });
    const train = loadFashionMnist('train');
    const referee = new Referee({ get: () => train });
    const params = initParams(spec.model, spec.seed);
    const drawn = [0, 256].map((cursor) => referee.recompute(spec, params, { cursor, count: 256 }));
    await referee.close(); // as a coordinator stops while a volunteer's spot check is still running
    const [a, b] = await Promise.all(drawn);
    expect(a.length).toBe(params.length);
    expect(a.some((x) => x !== 0) && b.some((x, i) => x !== a[i])).toBe(true);
  });
});
