import type * as OrtTypes from 'onnxruntime-common';
import { tensorWithFrameRoom } from '../../protocol/frames';
import { type ModelSpec, sizeOf, type TensorShape } from '../../protocol/model';
import type { AdamWHyper } from '../backend';
import { adamwUpdate } from '../cpu/backend';
import type { Engine, TrainableModel } from '../engine';
import { dropoutFeeds } from '../graph/dropout-masks';
import type { Graph } from '../graph/ir';
import { trainingStepGraph } from '../graph/model-graphs';
import { type InnerState, newInnerState } from '../inner-state';
import { type Batch, checkBatch, evaluateByLogits, hostLocalSteps, layoutOf, type StepResult, splitParams, targetLayout, targetRows } from '../models/model';
import { type StateLayout, stateLayout } from '../state-step';
import { inferenceGraph, trainingGraph } from './models';

/** The part of onnxruntime we use; onnxruntime-node and onnxruntime-web both provide it, so the host injects one. */
export type Ort = Pick<typeof OrtTypes, 'InferenceSession' | 'Tensor'>;
type Session = OrtTypes.InferenceSession;
type Tensor = OrtTypes.Tensor;

/**
 * onnxruntime with exactly one execution provider (`wasm`, `webgpu`, `cpu`): no fallback list, so a session that
 * opens is running on the provider named, and one that cannot run there fails instead of silently moving.
 */
export function onnxEngine(ort: Ort, provider: string, name: string, adapter: string): Engine {
  return { name, adapter, supports: () => true, build: (spec) => OnnxModel.open(ort, spec, provider) };
}

/** A model run by onnxruntime from the graphs in models.ts; local AdamW steps are applied here, between runs. */
export class OnnxModel implements TrainableModel {
  readonly shapes: TensorShape[];
  readonly paramCount: number;
  readonly inputSize: number;
  readonly classes: number;
  private readonly target: ReturnType<typeof targetLayout>;
  private readonly state: StateLayout;
  /** The training graph's dropout inputs (a layer list's dropout layers), drawn per batch as every engine draws them. */
  private readonly dropouts: Graph | undefined;

  private constructor(
    private readonly ort: Ort,
    spec: ModelSpec,
    private readonly train: Session,
    private readonly infer: Session,
  ) {
    ({ shapes: this.shapes, paramCount: this.paramCount, inputSize: this.inputSize, classes: this.classes } = layoutOf(spec));
    this.target = targetLayout(spec);
    this.state = stateLayout(spec);
    const graph = spec.kind === 'layers' ? trainingStepGraph(spec) : undefined;
    this.dropouts = graph?.inputs.some((i) => i.dropout !== undefined) ? graph : undefined;
  }

  /** `threads`: onnxruntime's intra-op threads (its default: one per core). */
  static async open(ort: Ort, spec: ModelSpec, provider: string, threads?: number): Promise<OnnxModel> {
    const options: OrtTypes.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      ...(threads && { intraOpNumThreads: threads }),
    };
    const [train, infer] = await Promise.all([
      ort.InferenceSession.create(trainingGraph(spec), options),
      ort.InferenceSession.create(inferenceGraph(spec), options),
    ]);
    return new OnnxModel(ort, spec, train, infer);
  }

  private masks(n: number, seed?: number): Record<string, Tensor> {
    if (!this.dropouts) return {};
    const feeds = dropoutFeeds(this.dropouts, n, seed);
    return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new this.ort.Tensor('float32', t.data, t.shape)]));
  }

  private params(flat: Float32Array): Record<string, Tensor> {
    return splitParams(flat, this.shapes, (data, shape) => new this.ort.Tensor('float32', data, shape));
  }

  async lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }> {
    checkBatch(batch, this.inputSize, this.classes);
    const n = batch.y.length;
    const out = await this.train.run({
      x: new this.ort.Tensor('float32', batch.x, [n, this.inputSize]),
      y: new this.ort.Tensor('float32', targetRows(batch, this.classes, this.target.kind), [n, ...this.target.dims]),
      ...this.params(flat),
      ...this.masks(n, batch.seed),
    });
    const grads = tensorWithFrameRoom(this.paramCount); // sent as a frame without a copy
    let off = 0;
    for (const s of this.shapes) {
      grads.set(out[`grad.${s.name}`].data as Float32Array, off);
      off += sizeOf(s.shape);
    }
    return { grads, loss: Number(out.loss.data[0]), correct: Number(out.correct.data[0]), samples: n };
  }

  localSteps(flat: Float32Array, batches: Batch[], h: Omit<AdamWHyper, 'step'>, state: InnerState = newInnerState(flat.length)) {
    return hostLocalSteps(this, flat, batches, h, state, adamwUpdate, this.state);
  }

  async predict(flat: Float32Array, x: Float32Array): Promise<Float32Array> {
    const n = x.length / this.inputSize;
    const out = await this.infer.run({ input: new this.ort.Tensor('float32', x, [n, this.inputSize]), ...this.params(flat) }, ['logits']);
    return out.logits.data as Float32Array;
  }

  evaluate(flat: Float32Array, data: Batch, batchSize = 1000) {
    return evaluateByLogits(this, flat, data, batchSize, this.target.kind);
  }

  dispose() {
    void this.train.release();
    void this.infer.release();
  }
}
