import { importOnnx } from '../../kernels/graph/import-onnx';
import { structureOf } from '../../kernels/graph/structure';
import { initParams } from '../../kernels/models/index';
import { GridError } from '../../protocol/errors';
import { namedBy } from '../../protocol/graph-spec';
import type { TrainingSpec } from '../../protocol/job';
import { adaptersOf, isAdapter, keptFromFile } from '../../protocol/lora';
import { type OnnxModelSpec, parameterShapes, rangesOf } from '../../protocol/model';
import type { KindContext } from '../jobs/kind';

const bad = (msg: string) => new GridError('BAD_JOB_SPEC', msg);

/** The registered model's file, if this coordinator may run it. */
async function modelFile(model: OnnxModelSpec, { store, allowlist }: Pick<KindContext, 'store' | 'allowlist'>): Promise<Uint8Array> {
  const row = await store.model(model.sha256);
  if (!row) throw bad(`model ${model.sha256} is not registered (POST /api/models first)`);
  if (allowlist && !allowlist.has(row.sha256)) throw new GridError('MODEL_NOT_ALLOWED', `model ${row.sha256} is not on this coordinator's allow-list`);
  return store.modelData(row.sha256);
}

/**
 * A spec whose model is a registered ONNX file, with that file's graph read into it (ops checked, shapes inferred,
 * the loss checked against the output): what workers rebuild and what the job stores. Whatever `graph` the
 * submitter sent is replaced.
 */
export async function resolveImported(spec: TrainingSpec, ctx: Pick<KindContext, 'store' | 'allowlist'>): Promise<TrainingSpec> {
  if (spec.model.kind !== 'onnx') return spec;
  const model = spec.model;
  const imported = importOnnx(await modelFile(model, ctx), { input: model.input, output: model.output });
  const graph = structureOf(imported);
  if (model.loss === 'binary-cross-entropy' && graph.outputWidth !== 1)
    throw bad(`binary-cross-entropy needs a model with one output; ${graph.output} has ${graph.outputWidth} (use cross-entropy)`);
  if (model.loss === 'cross-entropy' && graph.outputWidth < 2) throw bad(`cross-entropy needs one output per class; ${graph.output} has ${graph.outputWidth}`);
  for (const pattern of model.frozen ?? [])
    if (!graph.params.some((p) => namedBy(pattern, p.name)))
      throw bad(`frozen: ${pattern} names no parameter (it has ${graph.params.map((p) => p.name).join(', ')})`);
  if (model.lora && model.frozen?.length) throw bad('lora with frozen: a LoRA job keeps every tensor of the file already (drop frozen)');
  if (model.lora)
    adaptersOf(model, graph); // each target names a matrix product's weight
  else if (graph.params.every((p) => model.frozen?.some((f) => namedBy(f, p.name)))) throw bad('frozen: every parameter is frozen; nothing would train');
  return { ...spec, model: { ...model, graph } };
}

/** The ranges of the flat parameter vector that stay as the file has them. */
export function frozenRanges(spec: TrainingSpec): { start: number; end: number }[] {
  const model = spec.model;
  if (model.kind !== 'onnx') return [];
  return rangesOf(model, (s) => keptFromFile(model, s.name));
}

/** Where a job starts: an imported model from its file's weights (fine-tuning), any other from the seed. */
export async function startingParams(spec: TrainingSpec, ctx: Pick<KindContext, 'store' | 'allowlist'>): Promise<Float32Array> {
  if (spec.model.kind !== 'onnx') return initParams(spec.model, spec.seed);
  const imported = importOnnx(await modelFile(spec.model, ctx), { input: spec.model.input, output: spec.model.output });
  const byName = new Map(imported.builder.graph.params.map((p) => [p.name, p.init]));
  const out = initParams(spec.model, spec.seed); // what the file does not have (adapters) starts from the seed
  let off = 0;
  for (const s of parameterShapes(spec.model)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = isAdapter(s.name) ? out.subarray(off, off + n) : byName.get(s.name);
    if (!values) throw bad(`model ${spec.model.sha256} has no initializer ${s.name}`);
    out.set(values, off);
    off += n;
  }
  return out;
}
