import { sizeOf, type TensorShape } from '../../protocol/model';
import type { AdamWHyper } from '../backend';
import { adamwUpdate } from '../cpu/backend';
import { type InnerState, newInnerState } from '../inner-state';
import type { TrainableModel } from '../models/model';
import { type Batch, checkBatch, evaluateByLogits, hostLocalSteps, layoutOf, type StepResult, splitParams, targetLayout, targetRows } from '../models/model';
import { type StateLayout, stateLayout } from '../state-step';
import { runOnCpu } from './cpu-run';
import { dropoutFeeds } from './dropout-masks';
import type { Graph, HostTensor } from './ir';
import { type GraphModelSpec, inferenceStepGraph, trainingStepGraph } from './model-graphs';

/** Runs a graph on some engine's kernels and returns the `wanted` values. */
export type GraphRunner = (graph: Graph, feeds: Record<string, HostTensor>, wanted: string[]) => Promise<Record<string, HostTensor>>;

/** The CPU reference interpreter as a runner. */
export const cpuRunner: GraphRunner = async (graph, feeds, wanted) => {
  const out = runOnCpu(graph, feeds);
  return Object.fromEntries(wanted.map((name) => [name, out.get(name) as HostTensor]));
};

/** A graph model (a layer list, an imported graph): its training-step and inference graphs run by `run`. */
export class GraphModel implements TrainableModel {
  readonly shapes: TensorShape[];
  readonly paramCount: number;
  readonly inputSize: number;
  readonly classes: number;
  private readonly train: Graph;
  private readonly infer: Graph;
  private readonly target: ReturnType<typeof targetLayout>;
  private readonly state: StateLayout;

  constructor(
    readonly spec: GraphModelSpec,
    private readonly run: GraphRunner = cpuRunner,
  ) {
    ({ shapes: this.shapes, paramCount: this.paramCount, inputSize: this.inputSize, classes: this.classes } = layoutOf(spec));
    this.train = trainingStepGraph(spec);
    this.infer = inferenceStepGraph(spec);
    this.target = targetLayout(spec);
    this.state = stateLayout(spec);
  }

  private feeds(flat: Float32Array): Record<string, HostTensor> {
    return splitParams(flat, this.shapes, (data, shape) => ({ shape, data }));
  }

  async lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }> {
    checkBatch(batch, this.inputSize, this.classes);
    const n = batch.y.length;
    const x = { shape: [n, this.inputSize], data: batch.x };
    const y = { shape: [n, ...this.target.dims], data: targetRows(batch, this.classes, this.target.kind) };
    const gradNames = this.shapes.map((s) => `grad.${s.name}`);
    const masks = dropoutFeeds(this.train, n, batch.seed);
    const out = await this.run(this.train, { ...this.feeds(flat), ...masks, x, y }, [...gradNames, 'loss', 'correct']);
    const grads = new Float32Array(this.paramCount);
    let off = 0;
    this.shapes.forEach((s, i) => {
      grads.set(out[gradNames[i]].data, off);
      off += sizeOf(s.shape);
    });
    const scalar = (name: string) => out[name].data[0];
    return { grads, loss: scalar('loss'), correct: scalar('correct'), samples: n };
  }

  localSteps(flat: Float32Array, batches: Batch[], h: Omit<AdamWHyper, 'step'>, state: InnerState = newInnerState(flat.length)) {
    return hostLocalSteps(this, flat, batches, h, state, adamwUpdate, this.state);
  }

  async predict(flat: Float32Array, x: Float32Array): Promise<Float32Array> {
    const input = { shape: [x.length / this.inputSize, this.inputSize], data: x };
    return (await this.run(this.infer, { ...this.feeds(flat), input }, ['logits'])).logits.data;
  }

  evaluate(flat: Float32Array, data: Batch, batchSize = 1000) {
    return evaluateByLogits(this, flat, data, batchSize, this.target.kind);
  }

  dispose() {}
}

/** A graph model on the CPU reference. */
export class GraphCpuModel extends GraphModel {
  constructor(spec: GraphModelSpec) {
    super(spec, cpuRunner);
  }
}
