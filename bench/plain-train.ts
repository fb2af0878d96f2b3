import * as ort from 'onnxruntime-node';
import { loadFashionMnist } from '../coordinator/data/datasets';
import { newOptimizerState, stepParams } from '../coordinator/training/optimizer';
import { initParams } from '../kernels/models/index';
import { onnxEngine } from '../kernels/onnx/engine';
import { stateLayout } from '../kernels/state-step';
import { gatherBatch } from '../protocol/dataset';
import { parseTrainingSpec } from '../protocol/job';
import { sampleIndices } from '../protocol/sampling';

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
  const model = await onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu').build(spec.model);
  const params = initParams(spec.model, spec.seed);
  const opt = newOptimizerState(params.length);
  const layout = stateLayout(spec.model);
  const n = train.manifest.samples;
  const t0 = performance.now();
  let accuracy = 0;
  let samples = 0;
  for (let round = 1, cursor = 0; cursor < maxEpochs * n; round++, cursor += spec.globalBatch) {
    const batch = gatherBatch(train.manifest, (c) => train.chunks[c], sampleIndices(spec.seed, n, cursor, spec.globalBatch));
    const { grads } = await model.lossAndGradients(params, batch);
    stepParams(spec, params, grads, opt, layout, cursor / (maxEpochs * n));
    samples += batch.y.length;
    if (round % spec.evalEvery === 0) {
      accuracy = (await model.evaluate(params, testSet, 1000)).accuracy;
      if (accuracy >= target) break;
    }
  }
  model.dispose();
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, accuracy, reached: accuracy >= target, samplesPerSecond: samples / seconds };
}
