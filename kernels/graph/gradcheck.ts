import { gradients } from './autodiff';
import { GraphBuilder } from './builder';
import { runOnCpu } from './cpu-run';
import type { Graph, HostTensor } from './ir';
import type { OpCase } from './op-cases';
import { opNamed } from './registry';

/** Deterministic values in (-1, 1) (or as a case asks): the same case checks the same numbers on every engine. */
function values(n: number, seed: number, kind: 'any' | 'positive' | 'away' | 'mask' | 'index'): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    const r = 2 * (u - Math.floor(u)) - 1;
    out[i] =
      kind === 'index'
        ? (i * 3) % 5
        : kind === 'positive'
          ? 0.5 + Math.abs(r)
          : kind === 'away'
            ? Math.sign(r || 1) * (0.1 + Math.abs(r))
            : kind === 'mask'
              ? r > 0
                ? 1
                : 0
              : r;
  }
  return out;
}

export interface CheckGraph {
  graph: Graph;
  /** The case's inputs, as parameters of the graph (so every engine takes them the same way). */
  params: string[];
  loss: string;
  grads: string[];
}

/**
 * The case as a graph: its inputs as parameters, y = op(inputs), loss = Σ y · r for a fixed random r (so every
 * output element matters), and the gradient of the loss with respect to each differentiated input.
 */
export function checkGraph(c: OpCase, seed = 1): CheckGraph {
  const g = new GraphBuilder();
  const params = c.inputs.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return g.param(`in${i}`, shape, values(n, seed + i, c.values?.[i] ?? 'any'), !c.fixed?.includes(i));
  });
  const attrs = c.attrs ?? {};
  const count = opNamed(c.op).shape(
    params.map((p) => g.shapeOf(p)),
    attrs,
  ).length;
  // Every output weighed by its own fixed random r (an op of several outputs, like Split, is checked on all).
  const terms = g.ops(c.op, params, attrs, count).map((y, k) => {
    const shape = g.shapeOf(y) as number[];
    const r = g.constant(
      values(
        shape.reduce((a, b) => a * b, 1),
        seed + 99 + k,
        'any',
      ),
      shape,
    );
    return g.op('ReduceSum', [g.op('Mul', [y, r])], { keepdims: 0 });
  });
  const loss = terms.reduce((a, b) => g.op('Add', [a, b]));
  g.output(loss);
  const wrt = params.filter((_, i) => !c.fixed?.includes(i));
  const d = gradients(g, loss, wrt);
  return { graph: g.graph, params: wrt, loss, grads: wrt.map((p) => d.get(p) as string) };
}

/** A case of an op without a gradient: its inputs as parameters, its output the graph's. */
export function forwardGraph(c: OpCase, seed = 1): { graph: Graph; output: string } {
  const g = new GraphBuilder();
  const params = c.inputs.map((shape, i) =>
    g.param(
      `in${i}`,
      shape,
      values(
        shape.reduce((a, b) => a * b, 1),
        seed + i,
        c.values?.[i] ?? 'any',
      ),
    ),
  );
  const output = g.op(c.op, params, c.attrs ?? {});
  g.output(output);
  return { graph: g.graph, output };
}

/**
 * Central finite differences of the loss, on the CPU reference, against the gradient its backward rules give, at
 * up to `samples` coordinates of every differentiated input. Returns the worst relative error.
 */
export function gradientError(c: OpCase, samples = 12, eps = 1e-2): number {
  const { graph, params, loss, grads } = checkGraph(c);
  const base = Object.fromEntries(graph.params.map((p) => [p.name, { shape: [...p.shape], data: p.init.slice() } as HostTensor]));
  const out = runOnCpu(graph, base);
  const lossAt = () => (runOnCpu(graph, base).get(loss) as HostTensor).data[0];
  let worst = 0;
  params.forEach((p, k) => {
    const analytic = (out.get(grads[k]) as HostTensor).data;
    const x = base[p].data;
    for (let s = 0; s < Math.min(samples, x.length); s++) {
      const i = Math.floor(((s + 0.5) / Math.min(samples, x.length)) * x.length);
      const saved = x[i];
      x[i] = saved + eps;
      const up = lossAt();
      x[i] = saved - eps;
      const down = lossAt();
      x[i] = saved;
      const numeric = (up - down) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - analytic[i]) / Math.max(1e-2, Math.abs(numeric) + Math.abs(analytic[i])));
    }
  });
  return worst;
}
