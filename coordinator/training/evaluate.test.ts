import { describe, expect, it } from 'vitest';
import { initParams } from '../../kernels/models/index';
import type { TrainingSpec } from '../../protocol/job';
import { type ModelSpec, modelSpec } from '../../protocol/model';
import type { DatasetRegistry } from '../data/dataset-registry';
import { loadFashionMnist } from '../data/datasets';
import { textDatasets } from '../data/text';
import type { Store } from '../store/index';
import { EvaluationPool, type Evaluator, evaluateOnCpu, recordEvaluation } from './evaluate';

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

  it("writes a language model's text in the transaction of its evaluation's metrics: whoever sees one sees the other", async () => {
    const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog. '.repeat(200));
    const { validation } = textDatasets('fox', text, 16);
    const model = modelSpec({ kind: 'gpt', vocab: 29, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 'model') as ModelSpec;
    const transactions: string[][] = [];
    const store = {
      fenced: async (_f: unknown, work: (tx: unknown) => Promise<void>) => {
        const writes: string[] = [];
        transactions.push(writes);
        await work({ addMetrics: async () => void writes.push('metrics'), setTextSamples: async () => void writes.push('text') });
      },
    };
    const spec = { model, dataset: { name: 'fox', split: 'train', evalSplit: 'validation' } } as unknown as TrainingSpec;
    const datasets = { get: () => validation } as unknown as DatasetRegistry;
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    await recordEvaluation(evaluateOnCpu, { id: 1, spec }, initParams(model, 5), 10, {
      ...{ datasets, store: store as unknown as Store, log },
      fence: { jobId: 1, owner: 'c', epoch: 1 },
    });
    expect(transactions).toEqual([['metrics', 'text']]);
  });

  it('says so when an evaluation gives a non-finite loss, which the store cannot keep', async () => {
    const warned: string[] = [];
    const store = {
      fenced: async (_f: unknown, work: (tx: unknown) => Promise<void>) => work({ addMetrics: async () => {} }),
    };
    const log = { debug() {}, info() {}, warn: (m: string) => void warned.push(m), error() {} };
    const spec = { model: { kind: 'mlp', layers: [784, 10] }, dataset: { name: 'fashion-mnist', split: 'train' } } as unknown as TrainingSpec;
    const datasets = { get: () => ({ manifest: {} }) } as unknown as DatasetRegistry;
    const diverged: Evaluator = async () => ({ loss: Number.NaN, accuracy: 0, samples: 10 });
    await recordEvaluation(diverged, { id: 1, spec }, new Float32Array(1), 3, {
      datasets,
      store: store as unknown as Store,
      log,
      fence: { jobId: 1, owner: 'c', epoch: 1 },
    });
    expect(warned).toEqual(['evaluation gave a non-finite loss: not recorded']);
  });
});
