import {
  classCount,
  inputSize,
  type ModelSpec,
  outputPositions,
  parameterShapes,
  sizeOf,
  type TargetKind,
  type TensorShape,
  targetKind,
} from '../../protocol/model';
import type { AdamWHyper, Backend, Tensor } from '../backend';
import { type InnerState, newInnerState } from '../inner-state';
import { RUNNING_MOMENTUM, type StateLayout, stepLeavingState } from '../state-step';

export interface Batch {
  /** Row-major features, `inputSize` floats per sample. */
  x: Float32Array;
  /** Each sample's class (zeros where the data set has target vectors). */
  y: Uint32Array;
  /** Each sample's targets, one per output (a multi-label or regression data set). */
  targets?: Float32Array;
  /** What dropout masks are drawn from (the shard's sample seed and position; 0 when absent). */
  seed?: number;
}

export interface StepResult {
  /** Mean loss over the batch. */
  loss: number;
  correct: number;
  samples: number;
}

/** What a model's forward/backward pass leaves on the device; `scratch` is freed by the caller. */
/** What the worker loop trains and evaluates with, whichever engine runs it. */
export interface TrainableModel {
  readonly paramCount: number;
  readonly inputSize: number;
  readonly classes: number;
  lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }>;
  localSteps(flat: Float32Array, batches: Batch[], h: Omit<AdamWHyper, 'step'>, state?: InnerState): Promise<StepResult & { delta: Float32Array }>;
  predict(flat: Float32Array, x: Float32Array): Promise<Float32Array>;
  evaluate(flat: Float32Array, data: Batch, batchSize?: number): Promise<{ loss: number; accuracy: number }>;
  dispose(): void;
}

export interface DevicePass {
  loss: Tensor;
  correct: Tensor;
  grads: Tensor[];
  scratch: Tensor[];
}

/**
 * A model built from backend kernels. Subclasses define forward and backward on device tensors; this class owns
 * parameter upload, gradient readback, local AdamW steps and evaluation, the same for every backend.
 */
/** What every engine's model knows of its spec: parameter tensors in order, their total, inputs and classes. */
export function layoutOf(spec: ModelSpec): { shapes: TensorShape[]; paramCount: number; inputSize: number; classes: number } {
  const shapes = parameterShapes(spec);
  return { shapes, paramCount: shapes.reduce((n, s) => n + sizeOf(s.shape), 0), inputSize: inputSize(spec), classes: classCount(spec) };
}

/** Local steps' result: start minus end over the first start.length values of `end`, which the coordinator treats as a pseudo-gradient. */
export function parameterDelta(start: Float32Array, end: Float32Array): Float32Array {
  const delta = new Float32Array(start.length);
  for (let i = 0; i < delta.length; i++) delta[i] = start[i] - end[i];
  return delta;
}

/** The flat parameter vector cut into its tensors, by name (views, no copies); `make` wraps each for its engine. */
export function splitParams<T>(flat: Float32Array, shapes: readonly TensorShape[], make: (data: Float32Array, shape: number[]) => T): Record<string, T> {
  const total = shapes.reduce((n, s) => n + sizeOf(s.shape), 0);
  if (flat.length !== total) throw new Error(`model has ${total} parameters, got ${flat.length}`);
  const out: Record<string, T> = {};
  let off = 0;
  for (const s of shapes) {
    const n = sizeOf(s.shape);
    out[s.name] = make(flat.subarray(off, off + n), s.shape);
    off += n;
  }
  return out;
}

/** One-hot rows of `classes` for labels `y`: what the training graphs take. */
export function oneHot(y: Uint32Array, classes: number): Float32Array {
  const out = new Float32Array(y.length * classes);
  for (let i = 0; i < y.length; i++) out[i * classes + y[i]] = 1;
  return out;
}

/**
 * Local steps (the DiLoCo inner loop) over any model that gives gradients: AdamW on a host copy of the parameters,
 * its state carried across steps and rounds; returns start minus end as the pseudo-gradient.
 */
export async function hostLocalSteps(
  model: { lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }> },
  flat: Float32Array,
  batches: Batch[],
  h: Omit<AdamWHyper, 'step'>,
  state: InnerState,
  adamw: (p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: AdamWHyper) => void,
  layout: StateLayout = { kept: [], running: [] },
): Promise<StepResult & { delta: Float32Array }> {
  const p = flat.slice();
  let loss = 0;
  let correct = 0;
  let samples = 0;
  for (const [step, batch] of batches.entries()) {
    const r = await model.lossAndGradients(p, batch);
    stepLeavingState(p, r.grads, layout, RUNNING_MOMENTUM, () => adamw(p, r.grads, state.m, state.v, { ...h, step: state.step + step + 1 }));
    loss += r.loss * r.samples;
    correct += r.correct;
    samples += r.samples;
  }
  state.step += batches.length;
  return { delta: parameterDelta(flat, p), loss: loss / samples, correct, samples };
}

export abstract class Model {
  readonly shapes: TensorShape[];
  readonly paramCount: number;
  readonly inputSize: number;
  readonly classes: number;
  private params: Tensor[] | null = null;

  constructor(
    readonly spec: ModelSpec,
    readonly backend: Backend,
  ) {
    ({ shapes: this.shapes, paramCount: this.paramCount, inputSize: this.inputSize, classes: this.classes } = layoutOf(spec));
  }

  protected abstract forwardBackward(params: Tensor[], x: Tensor, y: Tensor, batch: number): DevicePass;
  protected abstract forward(params: Tensor[], x: Tensor, batch: number): { logits: Tensor; scratch: Tensor[] };

  /** Upload a flat parameter vector into persistent per-tensor device buffers. */
  setParams(flat: Float32Array): Tensor[] {
    if (flat.length !== this.paramCount) throw new Error(`model has ${this.paramCount} parameters, got ${flat.length}`);
    let off = 0;
    const views = this.shapes.map((s) => {
      const n = sizeOf(s.shape);
      const v = flat.subarray(off, off + n);
      off += n;
      return v;
    });
    if (!this.params) this.params = this.shapes.map((s, i) => this.backend.upload(views[i], s.shape, s.name));
    else this.params.forEach((t, i) => this.backend.write(t, views[i]));
    return this.params;
  }

  private checkBatch(b: Batch) {
    checkBatch(b, this.inputSize, this.classes);
  }

  /** Mean loss and the flat gradient of the mean loss w.r.t. every parameter, in wire order. */
  async lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }> {
    this.checkBatch(batch);
    const params = this.setParams(flat);
    const n = batch.y.length;
    const x = this.backend.upload(batch.x, [n, this.inputSize], 'x');
    const y = this.backend.uploadLabels(batch.y);
    const pass = this.forwardBackward(params, x, y, n);
    const all = await this.backend.readConcat([...pass.grads, pass.loss, pass.correct]);
    for (const t of [x, y, pass.loss, pass.correct, ...pass.grads, ...pass.scratch]) this.backend.release(t);
    const grads = all.subarray(0, this.paramCount);
    return { grads, ...summarize(all.subarray(this.paramCount, this.paramCount + n), all.subarray(this.paramCount + n), n) };
  }

  /**
   * Local-step training (DiLoCo inner loop): AdamW steps on the device over `batches`, starting from `flat`.
   * Returns the parameter delta (start - end), which the coordinator treats as a pseudo-gradient.
   */
  async localSteps(
    flat: Float32Array,
    batches: Batch[],
    h: Omit<AdamWHyper, 'step'>,
    state: InnerState = newInnerState(this.paramCount),
  ): Promise<StepResult & { delta: Float32Array }> {
    const params = this.setParams(flat);
    const b = this.backend;
    let off = 0;
    const moments = params.map((p) => {
      const at = off;
      off += p.size;
      return [b.upload(state.m.slice(at, off), p.shape, 'm'), b.upload(state.v.slice(at, off), p.shape, 'v')];
    });
    const stats: Tensor[] = [];
    let samples = 0;
    batches.forEach((batch, step) => {
      this.checkBatch(batch);
      const n = batch.y.length;
      samples += n;
      const x = b.upload(batch.x, [n, this.inputSize], 'x');
      const y = b.uploadLabels(batch.y);
      const pass = this.forwardBackward(params, x, y, n);
      params.forEach((p, i) => b.adamwStep(p, pass.grads[i], moments[i][0], moments[i][1], { ...h, step: state.step + step + 1 }));
      stats.push(pass.loss, pass.correct);
      for (const t of [x, y, ...pass.grads, ...pass.scratch]) b.release(t);
      b.flush();
    });
    const all = await b.readConcat([...params, ...stats, ...moments.map((x) => x[0]), ...moments.map((x) => x[1])]);
    for (const t of [...stats, ...moments.flat()]) b.release(t);
    const tail = all.length - 2 * this.paramCount;
    // The next round continues this optimizer.
    Object.assign(state, { m: all.slice(tail, tail + this.paramCount), v: all.slice(tail + this.paramCount), step: state.step + batches.length });
    const delta = parameterDelta(flat, all);
    let loss = 0;
    let correct = 0;
    off = this.paramCount;
    for (let s = 0; s < stats.length; s += 2) {
      const n = stats[s].size;
      for (let i = 0; i < n; i++) loss += all[off + i];
      for (let i = 0; i < n; i++) correct += all[off + n + i];
      off += 2 * n;
    }
    return { delta, loss: loss / samples, correct, samples };
  }

  /** Logits [n, classes] for a batch of inputs. */
  async predict(flat: Float32Array, x: Float32Array): Promise<Float32Array> {
    const params = this.setParams(flat);
    const n = x.length / this.inputSize;
    const xt = this.backend.upload(x, [n, this.inputSize], 'x');
    const { logits, scratch } = this.forward(params, xt, n);
    const out = await this.backend.read(logits);
    for (const t of [xt, logits, ...scratch]) this.backend.release(t);
    return out;
  }

  /** Mean loss and accuracy over a labelled set, in batches of `batchSize`. */
  evaluate(flat: Float32Array, data: Batch, batchSize = 1000): Promise<{ loss: number; accuracy: number }> {
    return evaluateByLogits(this, flat, data, batchSize);
  }

  dispose() {
    for (const t of this.params ?? []) this.backend.release(t);
    this.params = null;
  }
}

/** A batch must hold `inputSize` features per label and labels below `classes` (or a target per output), whatever engine runs it. */
export function checkBatch(b: Batch, inputSize: number, classes: number) {
  if (b.x.length !== b.y.length * inputSize) throw new Error(`batch has ${b.x.length} features for ${b.y.length} labels of ${inputSize}`);
  if (b.targets && b.targets.length % b.y.length) throw new Error(`batch has ${b.targets.length} targets for ${b.y.length} samples`);
  for (const y of b.y) if (y >= classes) throw new Error(`label ${y} is out of range for ${classes} classes`);
}

/**
 * What the training graphs' `y` holds for a model: the kind of targets and each sample's dims ([classes], or
 * [positions, classes] for a sequence). Worked out once per model: the layer list need not be walked every step.
 */
export function targetLayout(spec: ModelSpec): { kind: TargetKind; dims: number[] } {
  const positions = outputPositions(spec);
  return { kind: targetKind(spec), dims: positions ? [positions, classCount(spec)] : [classCount(spec)] };
}

/** The training graphs' `y`: one-hot rows of the classes (at each position of a sequence), or the batch's target vectors. */
export function targetRows(b: Batch, classes: number, kind: TargetKind): Float32Array {
  if (!b.targets) return oneHot(b.y, classes);
  if (kind !== 'class') return b.targets;
  for (const t of b.targets) if (!(t >= 0 && t < classes)) throw new Error(`label ${t} is out of range for ${classes} classes`);
  return oneHot(Uint32Array.from(b.targets), classes);
}

/**
 * Test loss and accuracy of `model`'s logits over a labelled set, in batches, shared by every engine: mean softmax
 * cross-entropy and top-1 for classes (per token for a sequence); for target vectors the training loss (losses.ts) and, for multi-label, the
 * share of samples with every label right (a regression's accuracy is 0: its loss is its measure).
 */
export async function evaluateByLogits(
  model: Pick<Model, 'predict' | 'inputSize' | 'classes'>,
  flat: Float32Array,
  data: Batch,
  batchSize: number,
  kind: TargetKind = 'class',
): Promise<{ loss: number; accuracy: number }> {
  let loss = 0;
  let correct = 0;
  const n = data.y.length;
  const k = model.classes;
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const logits = await model.predict(flat, data.x.subarray(s * model.inputSize, e * model.inputSize));
    const perSample = logits.length / (e - s); // k, or positions · k for a sequence
    for (let i = 0; i < e - s; i++) {
      const row = logits.subarray(i * perSample, (i + 1) * perSample);
      const r = !data.targets
        ? scoreClass(row, data.y[s + i])
        : kind === 'class'
          ? scoreSequence(row, data.targets.subarray(((s + i) * perSample) / k, ((s + i + 1) * perSample) / k), k)
          : scoreTargets(row, data.targets.subarray((s + i) * k, (s + i + 1) * k), kind);
      loss += r.loss;
      correct += r.correct;
    }
  }
  return { loss: loss / n, accuracy: correct / n };
}

function scoreClass(row: Float32Array, label: number) {
  let max = -Infinity;
  let arg = 0;
  for (let j = 0; j < row.length; j++) if (row[j] > max) [max, arg] = [row[j], j];
  let sum = 0;
  for (const z of row) sum += Math.exp(z - max);
  return { loss: Math.log(sum) + max - row[label], correct: arg === label ? 1 : 0 };
}

/** A sequence's mean cross-entropy per position (nats per token) and the share of its positions right. */
function scoreSequence(row: Float32Array, labels: Float32Array, k: number) {
  let loss = 0;
  let correct = 0;
  for (let p = 0; p < labels.length; p++) {
    const r = scoreClass(row.subarray(p * k, (p + 1) * k), labels[p]);
    loss += r.loss;
    correct += r.correct;
  }
  return { loss: loss / labels.length, correct: correct / labels.length };
}

function scoreTargets(row: Float32Array, target: Float32Array, kind: TargetKind) {
  let loss = 0;
  let right = 0;
  for (let j = 0; j < row.length; j++) {
    const [z, y] = [row[j], target[j]];
    if (kind === 'regression') loss += (z - y) ** 2;
    else {
      loss += Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
      if (z > 0 === (y === 1)) right++;
    }
  }
  return { loss: loss / row.length, correct: kind === 'multi-label' && right === row.length ? 1 : 0 };
}

function summarize(loss: Float32Array, correct: Float32Array, n: number): StepResult {
  let l = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    l += loss[i];
    c += correct[i];
  }
  return { loss: l / n, correct: c, samples: n };
}
