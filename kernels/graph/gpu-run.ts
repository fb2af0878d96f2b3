import { GridError } from '../../protocol/errors';
import type { Tensor } from '../backend';
import { bufferOf, type GpuBackend } from '../gpu/backend';
import { f32 } from './gpu-form';
import { batchedMatmul, binary, padded, permute, reduceTo, softmaxAlong, unary } from './gpu-kernels';
import type { Graph, GraphNode, HostTensor } from './ir';
import { type GraphModelSpec, inferenceStepGraph, trainingStepGraph } from './model-graphs';
import type { GpuForm } from './op';
import { opNamed } from './registry';

/** Why our WGSL kernels cannot run `graph`, or undefined when they can: the ops without a `gpu` form, by name. */
export function gpuGap(graph: Graph): string | undefined {
  const missing = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !opNamed(op).gpu))];
  return missing.length ? `no WGSL program for ${missing.join(', ')}` : undefined;
}

/** The same for a graph model: both its training-step and inference graphs must run. */
export function graphGpuGap(spec: GraphModelSpec): string | undefined {
  try {
    return gpuGap(trainingStepGraph(spec)) ?? gpuGap(inferenceStepGraph(spec));
  } catch (e) {
    return (e as Error).message; // a spec that builds no graph runs nowhere; the job's own checks say why
  }
}

const view = (t: Tensor) => ({ buffer: bufferOf(t), shape: [...t.shape] });

/** One node on the GPU: its outputs as tensors (an alias shares its input's buffer). */
function runNode(b: GpuBackend, node: GraphNode, form: GpuForm, inputs: Tensor[]): Tensor[] {
  const op = opNamed(node.op);
  const shapes = op.shape(
    inputs.map((t) => [...t.shape]),
    node.attrs,
  ) as number[][];
  const out = () => b.empty(shapes[0], node.op);
  const [x, y] = inputs;
  switch (form.kind) {
    case 'alias':
      return [b.reshape(x, shapes[0])];
    case 'unary': {
      const o = out();
      unary(b.rt, form.wgsl(node.attrs), bufferOf(x), bufferOf(o), o.size, form.fns);
      return [o];
    }
    case 'binary': {
      const o = out();
      binary(b.rt, form.wgsl, view(x), view(y), bufferOf(o), shapes[0], form.fns);
      return [o];
    }
    case 'reduce': {
      const o = out();
      // The kept-dims form of the output: 1 along every reduced axis, aligned to x's rank.
      const kept = node.op === 'SumAs' ? padded(shapes[0]) : keptDims(x.shape, shapes[0], node);
      reduceTo(b.rt, form.op, view(x), bufferOf(o), kept);
      return [o];
    }
    case 'transpose': {
      const o = out();
      const perm = Array.isArray(node.attrs.perm) ? (node.attrs.perm as number[]) : x.shape.map((_, i) => x.shape.length - 1 - i);
      permute(b.rt, view(x), bufferOf(o), perm);
      return [o];
    }
    case 'softmax': {
      const rank = x.shape.length;
      const axis = typeof node.attrs.axis === 'number' ? (node.attrs.axis + rank) % rank : rank - 1;
      const o = out();
      const inner = x.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
      softmaxAlong(b.rt, form.log, bufferOf(x), bufferOf(o), x.size / (x.shape[axis] * inner), x.shape[axis], inner);
      return [o];
    }
    case 'matmul': {
      if (x.shape.length === 2 && y.shape.length === 2) return [b.matmul(x, y)];
      const o = out();
      batchedMatmul(b.rt, view(x), view(y), bufferOf(o), shapes[0]);
      return [o];
    }
    case 'gemm': {
      const num = (key: string, fallback: number) => (typeof node.attrs[key] === 'number' ? (node.attrs[key] as number) : fallback);
      const ab = b.matmul(x, y, num('transA', 0) !== 0, num('transB', 0) !== 0);
      const [alpha, beta, c] = [num('alpha', 1), num('beta', 1), inputs[2]];
      if (!c && alpha === 1) return [ab];
      const o = out();
      if (c) binary(b.rt, `${f32(alpha)} * a + ${f32(beta)} * b`, view(ab), view(c), bufferOf(o), shapes[0]);
      else unary(b.rt, `${f32(alpha)} * x`, bufferOf(ab), bufferOf(o), o.size);
      b.release(ab); // queue order: the pool hands it out again only after this step's use
      return [o];
    }
    case 'host': {
      // Shape arithmetic (SizeOf): the CPU rule reads the shapes only.
      const host = op.cpu(
        inputs.map((t) => ({ shape: [...t.shape], data: new Float32Array(0) })),
        node.attrs,
      );
      return host.map((h) => b.upload(h.data, h.shape, node.op));
    }
  }
}

/** x's shape with the reduced axes of a Reduce* node set to 1, padded to rank 4. */
function keptDims(x: readonly number[], _out: number[], node: GraphNode): number[] {
  const rank = x.length;
  const axes = Array.isArray(node.attrs.axes) && node.attrs.axes.length ? (node.attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)) : x.map((_, i) => i);
  return padded(x.map((d, i) => (axes.includes(i) ? 1 : d)));
}

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
    for (const node of graph.nodes) {
      const form = opNamed(node.op).gpu;
      if (!form) throw new GridError('UNSUPPORTED_OP', `no WGSL program for ${node.op}`);
      const outs = runNode(
        b,
        node,
        form,
        node.inputs.map((name) => values.get(name) as Tensor),
      );
      outs.forEach((t, i) => {
        values.set(node.outputs[i], t);
        if (form.kind !== 'alias') owned.add(t);
      });
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
