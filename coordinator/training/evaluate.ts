import { CpuBackend } from '../../kernels/cpu/backend';
import { buildModel } from '../../kernels/models/index';
import { gatherBatch } from '../../protocol/dataset';
import type { TrainingSpec } from '../../protocol/job';
import { type ModelSpec, targetKind } from '../../protocol/model';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { LoadedDataset } from '../data/datasets';
import { errorText, type Logger } from '../log';
import type { EvalTask } from '../models/onnx-tasks';
import { OnnxThread } from '../models/onnx-thread';
import type { Fence, Store } from '../store/index';
import { textSamples } from './text-samples';

export type Evaluator = (
  spec: ModelSpec,
  params: Float32Array,
  data: LoadedDataset,
  samples?: number,
) => Promise<{ loss: number; accuracy: number; samples: number }>;

/** Test-set loss and accuracy on the coordinator's CPU backend, yielding to the event loop between chunks. */
export const evaluateOnCpu: Evaluator = async (spec, params, data, samples) => {
  const model = buildModel(spec, new CpuBackend());
  const n = Math.min(samples ?? data.manifest.samples, data.manifest.samples);
  let loss = 0;
  let correct = 0;
  const CHUNK = 250;
  for (let s = 0; s < n; s += CHUNK) {
    const idx = Uint32Array.from({ length: Math.min(CHUNK, n - s) }, (_, i) => s + i);
    const batch = gatherBatch(data.manifest, (c) => data.chunks[c], idx);
    const r = await model.evaluate(params, batch, CHUNK);
    loss += r.loss * idx.length;
    correct += r.accuracy * idx.length;
    await new Promise((r) => setImmediate(r));
  }
  return { loss: loss / n, accuracy: correct / n, samples: n };
};

/**
 * Evaluations on onnxruntime-node in a piscina thread, so a 10,000-image test pass never holds the event loop.
 * Each data set's features are gathered once into shared memory, which the thread reads without a copy.
 */
export class EvaluationPool {
  private readonly pool = new OnnxThread();
  private readonly shared = new WeakMap<LoadedDataset, { x: Float32Array; y: Uint32Array; targets?: Float32Array }>();

  readonly evaluate: Evaluator = async (spec, params, data, samples) => {
    let d = this.shared.get(data);
    if (!d) {
      const all = gatherBatch(
        data.manifest,
        (c) => data.chunks[c],
        Uint32Array.from({ length: data.manifest.samples }, (_, i) => i),
      );
      const shared = <T extends Float32Array | Uint32Array>(a: T, make: (b: SharedArrayBuffer) => T) => {
        const out = make(new SharedArrayBuffer(a.byteLength));
        out.set(a);
        return out;
      };
      d = {
        x: shared(all.x, (b) => new Float32Array(b)),
        y: shared(all.y, (b) => new Uint32Array(b)),
        ...(all.targets && { targets: shared(all.targets, (b) => new Float32Array(b)) }),
      };
      this.shared.set(data, d);
    }
    const task: EvalTask = { spec, params, ...d, samples: samples ?? data.manifest.samples };
    return this.pool.run(task);
  };

  close() {
    return this.pool.close();
  }
}

type EvaluationContext = { datasets: DatasetRegistry; store: Store; log: Logger; fence: Fence };

/** Evaluate a job's parameters on its eval split and record test loss and accuracy; a failure is logged, not thrown. */
export async function recordEvaluation(
  evaluator: Evaluator,
  run: { id: number; spec: TrainingSpec },
  params: Float32Array,
  round: number,
  o: EvaluationContext,
) {
  const split = run.spec.dataset.evalSplit ?? 'test';
  try {
    const data = o.datasets.get(run.spec.dataset.name, split);
    const r = await evaluator(run.spec.model, params, data, run.spec.evalSamples);
    // The store keeps finite numbers only: say why a run's test loss is missing (a diverged model, an evaluator's bug).
    if (!Number.isFinite(r.loss)) o.log.warn('evaluation gave a non-finite loss: not recorded', { job: run.id, round, split, loss: String(r.loss) });
    // A regression has no accuracy: its loss (mean squared error) is its measure. A text's loss is nats per token.
    const metrics: Record<string, number> =
      targetKind(run.spec.model) === 'regression' ? { test_loss: r.loss } : { test_loss: r.loss, test_accuracy: r.accuracy };
    // Per character, not per token: a BPE token stands for charsPerToken characters of the validation text.
    if (data.manifest.tokenizer)
      Object.assign(metrics, { test_perplexity: Math.exp(r.loss), test_bits_per_char: r.loss / Math.LN2 / (data.manifest.charsPerToken ?? 1) });
    // A language model's text goes in with its metrics: whoever sees the evaluation sees what the model wrote at it.
    const samples = data.manifest.tokenizer ? await writtenText(run, params, data, o) : [];
    // Fenced: a coordinator that lost the job while evaluating writes nothing.
    await o.store.fenced(o.fence, async (tx) => {
      await tx.addMetrics(run.id, round, metrics);
      if (samples.length) await tx.setTextSamples(run.id, round, samples);
    });
    const fields = { job: run.id, round, split, accuracy: Number(r.accuracy.toFixed(4)), loss: Number(r.loss.toFixed(4)), samples: r.samples };
    o.log.info('evaluated', fields);
  } catch (e) {
    o.log.warn('evaluation failed', { job: run.id, err: errorText(e) });
  }
}

/** What a language model writes at this evaluation (text-samples.ts); none when that fails, which is logged. */
async function writtenText(run: { id: number; spec: TrainingSpec }, params: Float32Array, data: LoadedDataset, o: EvaluationContext) {
  try {
    return await textSamples(run.spec.model, params, data);
  } catch (e) {
    o.log.warn('writing text samples failed', { job: run.id, err: errorText(e) });
    return [];
  }
}
