import type { Ort } from '../onnx/engine';
import type { Graph, HostTensor } from './ir';
import { emitOnnx } from './onnx-emit';

/**
 * Run an IR graph on onnxruntime (node, or web with wasm or webgpu) through its ONNX form, parameters fed as inputs;
 * returns the values named in `fetch`. The provider is the only one offered, so a run is on that provider or fails.
 */
export async function runOnOrt(ort: Ort, provider: string, graph: Graph, feeds: Record<string, HostTensor>, fetch: string[]): Promise<Map<string, HostTensor>> {
  const model = emitOnnx(graph, { params: 'inputs', extraOutputs: fetch.filter((f) => !graph.outputs.includes(f)) });
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  try {
    const inputs: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const p of graph.params) {
      const t = feeds[p.name] ?? { shape: [...p.shape], data: p.init };
      inputs[p.name] = new ort.Tensor('float32', t.data, t.shape);
    }
    for (const i of graph.inputs) inputs[i.name] = new ort.Tensor('float32', feeds[i.name].data, feeds[i.name].shape);
    const out = await session.run(inputs, fetch);
    return new Map(fetch.map((name) => [name, { shape: [...out[name].dims], data: Float32Array.from(out[name].data as Float32Array) }]));
  } finally {
    await session.release();
  }
}

/** Largest difference between two tensors relative to the larger magnitude in either (1 when shapes differ). */
export function relativeError(a: HostTensor, b: HostTensor): number {
  if (a.data.length !== b.data.length) return 1;
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(a.data[i]), Math.abs(b.data[i]));
  }
  return diff / scale;
}
