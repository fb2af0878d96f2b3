import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { AdamWHyper } from '../../kernels/backend';
import type { Batch } from '../../kernels/models/model';
import { OnnxModel } from '../../kernels/onnx/engine';
import { type FeedPlan, type ModelSession, onnxInference, runBatched } from '../../kernels/onnx/session';
import type { ModelSpec } from '../../protocol/model';

/** One evaluation task: the data set arrives in shared memory (not copied), the parameters as a copy. */
export interface EvalTask {
  spec: ModelSpec;
  params: Float32Array;
  x: Float32Array;
  y: Uint32Array;
  targets?: Float32Array;
  samples: number;
}

// Sessions are built once per model spec and kept while the thread lives.
const models = new Map<string, Promise<OnnxModel>>();

/**
 * Half the cores at most: the coordinator's event loop and aggregation threads need the rest, and so do workers on the
 * same machine (on two shared cores a volunteer's judged rounds took 40.4 ms with one thread per core, 32.6 with one).
 */
const THREADS = Math.max(1, Math.floor(availableParallelism() / 2));

function modelFor(spec: ModelSpec): Promise<OnnxModel> {
  const key = JSON.stringify(spec);
  if (!models.has(key)) models.set(key, OnnxModel.open(ort, spec, 'cpu', THREADS));
  return models.get(key) as Promise<OnnxModel>;
}

/** Test loss and accuracy with onnxruntime-node, in a piscina thread off the coordinator's event loop. */
export default async function evaluate({ spec, params, x, y, targets, samples }: EvalTask) {
  const m = await modelFor(spec);
  const n = Math.min(samples, y.length);
  // onnxruntime-node refuses tensors over shared memory: one copy of the samples evaluated, in this thread. A sample's
  // targets are a vector (multi-label, regression) or a class per position: their width is the data set's, not the classes.
  const kept = targets && { targets: targets.slice(0, n * (targets.length / y.length)) };
  const r = await m.evaluate(params, { x: x.slice(0, n * m.inputSize), y: y.slice(0, n), ...kept }, 1000);
  return { ...r, samples: n };
}

/** A shard's gradient, as an honest worker computes it: what a spot check compares a worker's result with. */
export async function gradient({ spec, params, batch }: { spec: ModelSpec; params: Float32Array; batch: Batch }) {
  return (await (await modelFor(spec)).lossAndGradients(params, batch)).grads;
}

/** Local steps from `params` with a fresh inner AdamW, as an honest worker's first shard: a local-step round's reference. */
export async function localDelta({ spec, params, batches, h }: { spec: ModelSpec; params: Float32Array; batches: Batch[]; h: Omit<AdamWHyper, 'step'> }) {
  return (await (await modelFor(spec)).localSteps(params, batches, h)).delta;
}

/** The loss over `heldOut` at `params`: the root of trust's check of a step. */
export async function heldOutLoss({ spec, params, heldOut }: { spec: ModelSpec; params: Float32Array; heldOut: Batch }) {
  return (await (await modelFor(spec)).evaluate(params, heldOut, heldOut.y.length)).loss;
}

/** Registered models opened for inference checks, by hash; the few most recent kept. */
const sessions = new Map<string, Promise<ModelSession>>();
const KEPT_SESSIONS = 4;

/**
 * A registered model's raw outputs for `n` samples, run as an honest worker runs it (runBatched): what an inference
 * check compares a worker's outputs with. `model` arrives in shared memory and is copied only when first opened.
 */
export async function infer({ sha256, model, plan, x, n }: { sha256: string; model: Uint8Array; plan: FeedPlan; x: Float32Array; n: number }) {
  let session = sessions.get(sha256);
  if (!session) {
    if (sessions.size >= KEPT_SESSIONS) {
      const [oldest, opened] = sessions.entries().next().value as [string, Promise<ModelSession>];
      sessions.delete(oldest);
      void opened.then((s) => s.release()).catch(() => {});
    }
    session = onnxInference(ort, 'cpu', 'coordinator').open(model.slice());
    sessions.set(sha256, session);
    session.catch(() => sessions.delete(sha256)); // a model that failed to open is tried again next time
  }
  return runBatched(await session, plan, x, n);
}
