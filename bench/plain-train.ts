import * as ort from 'onnxruntime-node';
import type { LoadedDataset } from '../coordinator/data/datasets';
import { loadFashionMnist } from '../coordinator/data/datasets';
import { newOptimizerState, stepParams } from '../coordinator/training/optimizer';
import { initParams } from '../kernels/models/index';
import type { TrainableModel } from '../kernels/models/model';
import { onnxEngine } from '../kernels/onnx/engine';
import { stateLayout } from '../kernels/state-step';
import { gatherBatch, shardBatch } from '../protocol/dataset';
import { parseTrainingSpec, type TrainingSpec } from '../protocol/job';

/** The job's model on onnxruntime-node in this process. */
export const plainModel = (spec: TrainingSpec) => onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu').build(spec.model);

/**
 * Up to `rounds` optimizer steps of the job on `model` in one process, in the grid's sample order, global batch,
 * optimizer and schedule; `after(round, params)` may end them early. Returns the parameters and the samples seen.
 */
export async function plainSteps(
  spec: TrainingSpec,
  model: TrainableModel,
  train: LoadedDataset,
  rounds: number,
  after: (round: number, params: Float32Array) => Promise<boolean> = async () => false,
) {
  const params = initParams(spec.model, spec.seed);
  const opt = newOptimizerState(params.length);
  const layout = stateLayout(spec.model);
  let samples = 0;
  for (let round = 1; round <= rounds; round++) {
    const cursor = (round - 1) * spec.globalBatch;
    const batch = shardBatch(train.manifest, (c) => train.chunks[c], { seed: spec.seed, cursor, count: spec.globalBatch, augment: spec.dataset.augment });
    const { grads } = await model.lossAndGradients(params, batch);
    stepParams(spec, params, grads, opt, layout, (round - 1) / rounds);
    samples += batch.y.length;
    if (await after(round, params)) break;
  }
  return { params, samples };
}

/**
 * The floor for the grid: the same job (model, optimizer, batch, sample order, evaluation schedule) trained in
 * one plain process on onnxruntime-node, no coordinator, no sockets. Seconds until test accuracy reaches `target`.
 */
export async function trainPlain(job: Record<string, unknown>, target: number, maxEpochs: number) {
  const spec = parseTrainingSpec({ name: 'plain', ...job });
  const train = loadFashionMnist('train');
  const test = loadFashionMnist('test');
  const testSet = gatherBatch(
    test.manifest,
    (c) => test.chunks[c],
    Uint32Array.from({ length: 10_000 }, (_, i) => i),
  );
  const model = await plainModel(spec);
  const t0 = performance.now();
  let accuracy = 0;
  const rounds = Math.ceil((maxEpochs * train.manifest.samples) / spec.globalBatch);
  const { samples } = await plainSteps(spec, model, train, rounds, async (round, params) => {
    if (round % spec.evalEvery !== 0) return false;
    accuracy = (await model.evaluate(params, testSet, 1000)).accuracy;
    return accuracy >= target;
  });
  model.dispose();
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, accuracy, reached: accuracy >= target, samplesPerSecond: samples / seconds };
}
