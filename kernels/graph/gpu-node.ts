import type { Tensor } from '../backend';
import { bufferOf, type GpuBackend } from '../gpu/backend';
import { attentionBackward, attentionForward } from './gpu-attention';
import { conv, convGradInput, convGradWeight, pool } from './gpu-conv';
import { copyBox, fill, gatherRows, where } from './gpu-copies';
import { f32 } from './gpu-form';
import { batchedMatmul, binary, padded, permute, softmaxAlong, unary } from './gpu-kernels';
import { reduceTo } from './gpu-reduce';
import type { GraphNode } from './ir';
import type { GpuForm } from './op';
import { includesPad } from './ops/average-pool';
import { geometry } from './ops/conv-geometry';
import { poolGeometry } from './ops/pool-windows';
import { opNamed } from './registry';

const view = (t: Tensor) => ({ buffer: bufferOf(t), shape: [...t.shape] });

/** Runs a composed op's sub-graph (its `build`) on the same values. */
export type Compose = (build: Extract<GpuForm, { kind: 'compose' }>['build'], node: GraphNode, inputs: Tensor[]) => Tensor[];

/** One node on the GPU: its outputs as tensors (an alias shares its input's buffer). */
export function runNode(b: GpuBackend, node: GraphNode, form: GpuForm, inputs: Tensor[], compose: Compose): Tensor[] {
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
      binary(b.rt, form.wgsl, view(x), view(y ?? x), bufferOf(o), shapes[0], form.fns); // Expand has one input
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
    case 'where': {
      const o = out();
      where(b.rt, view(x), view(y), view(inputs[2]), bufferOf(o), shapes[0]);
      return [o];
    }
    case 'gather':
    case 'gatherGrad': {
      const o = out();
      const [src, indices, like] = form.kind === 'gather' ? [x, y, x] : [x, y, inputs[2]];
      const row = like.size / like.shape[0];
      gatherRows(b.rt, form.kind === 'gatherGrad', bufferOf(src), bufferOf(indices), bufferOf(o), indices.size, row, like.shape[0]);
      return [o];
    }
    case 'copies': {
      const plan = form.plan(
        inputs.map((t) => [...t.shape]),
        node.attrs,
      );
      const outs = shapes.map((s) => b.empty(s, node.op));
      if (plan.zero) for (const o of outs) fill(b.rt, bufferOf(o), o.size, 0);
      for (const c of plan.copies) {
        const [from, to] = [inputs[c.from], outs[c.to]];
        copyBox(b.rt, bufferOf(from), bufferOf(to), { box: c.box, srcShape: [...from.shape], srcStart: c.src, dstShape: [...to.shape], dstStart: c.dst });
      }
      return outs;
    }
    case 'conv': {
      const o = out();
      const [a, bb, c] = inputs;
      const w = form.part === 'gradWeight' ? c : bb;
      const [xs, ys] = form.part === 'forward' ? [a, o] : form.part === 'gradInput' ? [c, a] : [a, bb];
      const d = { x: [...xs.shape], w: [...w.shape], y: [...ys.shape], g: geometry(node.attrs, [w.shape[2], w.shape[3]]) };
      if (form.part === 'forward') conv(b.rt, bufferOf(a), bufferOf(bb), c && bufferOf(c), bufferOf(o), d);
      else if (form.part === 'gradInput') convGradInput(b.rt, bufferOf(a), bufferOf(bb), bufferOf(o), d);
      else convGradWeight(b.rt, bufferOf(a), bufferOf(bb), bufferOf(o), d);
      return [o];
    }
    case 'pool': {
      const o = out();
      const forward = form.mode === 'max' || form.mode === 'avg';
      const [xs, ys] = forward ? [x, o] : [y, x]; // backward: (dY, X[, Y])
      const [n, c, h, w] = xs.shape;
      const dims = [ys.shape[2], ys.shape[3]];
      pool(b.rt, form.mode, inputs.map(bufferOf), bufferOf(o), [n * c, h, w], dims, poolGeometry(node.attrs), includesPad(node.attrs));
      return [o];
    }
    case 'attention': {
      const [rows, t, tk, d] = [x.shape[0] * x.shape[1], x.shape[2], y.shape[2], x.shape[3]];
      const a = { rows, t, tk, d, scale: Number(node.attrs.scale), causal: node.attrs.causal === 1 };
      const outs = shapes.map((s) => b.empty(s, node.op));
      if (form.part === 'forward') attentionForward(b.rt, a, inputs.slice(0, 3).map(bufferOf), bufferOf(outs[0]), bufferOf(outs[1]));
      else {
        const rowSums = b.empty([rows * t], 'attention row sums');
        attentionBackward(b.rt, a, inputs.map(bufferOf), outs.map(bufferOf), bufferOf(rowSums));
        b.release(rowSums); // queue order: the pool hands it out again only after this step's use
      }
      return outs;
    }
    case 'compose':
      return compose(form.build, node, inputs);
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
