import { GridError } from '../../protocol/errors';
import type { Tensor } from '../backend';
import type { GpuBackend } from '../gpu/backend';
import { type Compose, runNode } from './gpu-node';
import type { Attrs, Graph, GraphNode, HostTensor } from './ir';
import { type GraphModelSpec, inferenceStepGraph, trainingStepGraph } from './model-graphs';
import type { Emitter } from './op';
import { opNamed } from './registry';

/** Why our WGSL kernels cannot run `graph`, or undefined when they can: the ops without a `gpu` form, by name. */
export function gpuGap(graph: Graph): string | undefined {
  const missing = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !opNamed(op).gpu))];
  return missing.length ? `no WGSL program for ${missing.join(', ')}` : undefined;
}

/** The same for a graph model: both its training-step and inference graphs must run. */
export function graphGpuGap(spec: GraphModelSpec): string | undefined {
  // Asked on every engine choice for the job's spec: the two graphs are built once per spec object.
  if (!gaps.has(spec)) {
    try {
      gaps.set(spec, gpuGap(trainingStepGraph(spec)) ?? gpuGap(inferenceStepGraph(spec)));
    } catch (e) {
      gaps.set(spec, (e as Error).message); // a spec that builds no graph runs nowhere; the job's own checks say why
    }
  }
  return gaps.get(spec);
}
const gaps = new WeakMap<GraphModelSpec, string | undefined>();

/**
 * Runs `graph` on our WGSL kernels and reads back `wanted`. Every value lives until the run ends (aliases share
 * buffers), then each buffer goes back to the pool once; constants are uploaded each run, like the feeds.
 */
export async function runOnGpu(b: GpuBackend, graph: Graph, feeds: Record<string, HostTensor>, wanted: string[]): Promise<Record<string, HostTensor>> {
  const values = new Map<string, Tensor>();
  const owned = new Set<Tensor>();
  const upload = (name: string, t: HostTensor) => {
    const v = b.upload(t.data, t.shape, name);
    owned.add(v);
    values.set(name, v);
  };
  try {
    for (const c of graph.constants) upload(c.name, { shape: [...c.shape], data: c.data });
    for (const p of graph.params) upload(p.name, feeds[p.name] ?? { shape: [...p.shape], data: p.init });
    for (const input of graph.inputs) {
      const t = feeds[input.name];
      if (!t) throw new Error(`no value fed for input ${input.name}`);
      upload(input.name, t);
    }
    let temp = 0;
    const exec = (node: GraphNode, inputs: Tensor[]): Tensor[] => {
      const form = opNamed(node.op).gpu;
      if (!form) throw new GridError('UNSUPPORTED_OP', `no WGSL program for ${node.op}`);
      const outs = runNode(b, node, form, inputs, compose);
      if (form.kind !== 'alias' && form.kind !== 'compose') for (const t of outs) owned.add(t);
      return outs;
    };
    // A composed op runs its sub-graph through an emitter whose values are tensors named in the same map.
    const compose: Compose = (build, node, inputs) => {
      const name = (t: Tensor) => {
        const n = `%${temp++}`;
        values.set(n, t);
        return n;
      };
      const ops = (op: string, ins: string[], attrs: Attrs, count: number) =>
        exec(
          { op, inputs: ins, outputs: Array(count).fill('%'), attrs },
          ins.map((i) => values.get(i) as Tensor),
        )
          .slice(0, count)
          .map(name);
      const g: Emitter = {
        op: (op, ins, attrs = {}) => ops(op, ins, attrs, 1)[0],
        ops,
        constant: (value, shape = []) => {
          const data = typeof value === 'number' ? Float32Array.of(value) : value;
          const t = b.upload(data, shape, 'constant');
          owned.add(t);
          return name(t);
        },
        shapeOf: (n) => [...(values.get(n) as Tensor).shape],
      };
      return build(g, { ...node, inputs: inputs.map(name) }).map((n) => values.get(n) as Tensor);
    };
    for (const node of graph.nodes) {
      const outs = exec(
        node,
        node.inputs.map((name) => values.get(name) as Tensor),
      );
      outs.forEach((t, i) => values.set(node.outputs[i], t));
    }
    const read = wanted.map((name) => {
      const t = values.get(name);
      if (!t) throw new Error(`${name} is not a value of this graph`);
      return t;
    });
    const flat = await b.readConcat(read);
    let off = 0;
    return Object.fromEntries(
      read.map((t, i) => {
        const data = flat.slice(off, off + t.size);
        off += t.size;
        return [wanted[i], { shape: [...t.shape], data }];
      }),
    );
  } finally {
    for (const t of owned) b.release(t);
  }
}
