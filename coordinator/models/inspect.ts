import { createHash } from 'node:crypto';
import type { onnx as Onnx } from 'onnx-proto';
import { onnx } from '../../kernels/onnx/graph';
import { GridError } from '../../protocol/errors';

/** A graph input or output as a model declares it: a string dimension is symbolic (the batch, usually). */
export interface TensorInfo {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface ModelInfo {
  sha256: string;
  bytes: number;
  opset: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  ops: string[];
}

/** Opsets onnxruntime-web 1.30 runs (default domain). */
const OPSETS = { min: 7, max: 21 };
const TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
/** The operator domains onnxruntime-web implements; whether each operator runs is checked by opening the model. */
const STANDARD_DOMAINS = ['ai.onnx', 'ai.onnx.ml'];
const bad = (message: string) => new GridError('BAD_MODEL', message);

/** How deep If and Loop bodies may nest: exporters write a few levels; thousands are an attack on whoever walks them. */
const MAX_SUBGRAPH_DEPTH = 16;

/** The deepest nesting of subgraphs (attribute graphs) under `g`, counting `g` as 1; stops looking past the bound. */
function subgraphDepth(g: Onnx.IGraphProto, level = 1): number {
  if (level > MAX_SUBGRAPH_DEPTH) return level;
  let deepest = level;
  for (const n of g.node ?? [])
    for (const a of n.attribute ?? [])
      for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) deepest = Math.max(deepest, subgraphDepth(sub, level + 1));
  return deepest;
}

/**
 * The static checks of an uploaded model, before anything runs it: parses as ONNX, fits the size limit, carries
 * its weights inside (no external-data references), uses only the default operator domain at an opset
 * onnxruntime-web runs, and declares its inputs and outputs. Whether every operator runs is checked next, by
 * opening it in onnxruntime-web (check-thread.ts).
 */
export function inspectOnnx(bytes: Uint8Array, maxBytes: number): ModelInfo {
  if (bytes.byteLength > maxBytes) throw new GridError('PAYLOAD_TOO_LARGE', `model of ${bytes.byteLength} bytes exceeds ${maxBytes}`);
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw bad(`not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!Number(model.irVersion) || !graph?.node?.length || !graph.output?.length) throw bad('not an ONNX model: no graph with nodes and outputs');
  const depth = subgraphDepth(graph);
  if (depth > MAX_SUBGRAPH_DEPTH) throw bad(`subgraphs nest ${depth} deep; at most ${MAX_SUBGRAPH_DEPTH}`);
  const external = (graph.initializer ?? []).find((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || t.externalData?.length);
  if (external) throw bad(`initializer ${external.name} refers to external data; embed the weights in the file`);
  const domains = new Map((model.opsetImport ?? []).map((o) => [o.domain || 'ai.onnx', Number(o.version)]));
  // Only domains the nodes use count: exporters often import ai.onnx.ml without a node from it.
  const foreign = graph.node.find((n) => !STANDARD_DOMAINS.includes(n.domain || 'ai.onnx'));
  if (foreign) throw bad(`operator ${foreign.opType} of domain ${foreign.domain} is not supported; use standard ONNX operators`);
  const opset = domains.get('ai.onnx') ?? 0;
  if (opset < OPSETS.min || opset > OPSETS.max) throw bad(`opset ${opset} is outside ${OPSETS.min}..${OPSETS.max}`);
  const stored = new Set((graph.initializer ?? []).map((t) => t.name));
  const info = (v: Onnx.IValueInfoProto): TensorInfo => ({
    name: v.name ?? '',
    type: TYPES[v.type?.tensorType?.elemType ?? 0] ?? 'unknown',
    shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))),
  });
  const inputs = (graph.input ?? []).filter((i) => !stored.has(i.name ?? '')).map(info);
  if (!inputs.length) throw bad('the model declares no inputs');
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
    opset,
    inputs,
    outputs: (graph.output ?? []).map(info),
    ops: [...new Set(graph.node.map((n) => n.opType ?? ''))].sort(),
  };
}
