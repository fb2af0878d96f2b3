import { describe, expect, it } from 'vitest';
import { initParams } from '../../kernels/models/index';
import { type ModelSpec, modelSpec } from '../../protocol/model';

import { loadFashionMnist } from '../data/datasets';
import { textDatasets } from '../data/text';
import { EvaluationPool, evaluateOnCpu } from './evaluate';

describe('evaluation off the event loop', () => {
  it('gives what the CPU reference gives, on onnxruntime-node in a thread, for the MLP and the CNN', async () => {
    const data = loadFashionMnist('test');
    const pool = new EvaluationPool();
    try {
      const specs: ModelSpec[] = [
        { kind: 'mlp', layers: [784, 32, 10] },
        { kind: 'cnn', input: [1, 28, 28], channels: [4, 8], kernel: 3, classes: 10 },
      ];
      for (const spec of specs) {
        const params = initParams(spec, 11);
        const [threaded, reference] = await Promise.all([pool.evaluate(spec, params, data, 1500), evaluateOnCpu(spec, params, data, 1500)]);
        expect(threaded.samples).toBe(1500);
        expect(threaded.accuracy).toBe(reference.accuracy);
        expect(Math.abs(threaded.loss - reference.loss) / reference.loss).toBeLessThan(1e-5);
      }
    } finally {
      await pool.close();
    }
  });

  it('evaluates a language model whose block is longer than its vocabulary: every position scored, as the CPU reference', async () => {
    const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog. '.repeat(200));
    const { validation } = textDatasets('fox', text, 40); // 40 positions a block, 29 characters
    const spec = modelSpec({ kind: 'gpt', vocab: 29, blockSize: 40, nLayer: 1, nHead: 2, nEmbd: 16 }, 'model') as ModelSpec;
    const params = initParams(spec, 5);
    const pool = new EvaluationPool();
    try {
      const [threaded, reference] = await Promise.all([pool.evaluate(spec, params, validation, 8), evaluateOnCpu(spec, params, validation, 8)]);
      expect(Number.isFinite(threaded.loss)).toBe(true);
      expect(Math.abs(threaded.loss - reference.loss) / reference.loss).toBeLessThan(1e-4);
    } finally {
      await pool.close();
    }
  });
});
