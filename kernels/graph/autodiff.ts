import type { GraphBuilder } from './builder';
import { opNamed } from './registry';

/**
 * Reverse-mode autodiff over the builder's graph: from `loss` (a scalar) back through every node, each op's one
 * backward rule writing its inputs' gradients as new nodes; a value used twice gets the sum. Returns the gradient of
 * each value in `wrt` (a zero constant for one the loss does not depend on).
 */
export function gradients(g: GraphBuilder, loss: string, wrt: readonly string[]): Map<string, string> {
  const grads = new Map<string, string>([[loss, g.constant(1)]]);
  const nodes = g.graph.nodes.slice(); // the forward nodes only: the backward ones are appended as we go
  const needed = reaching(nodes, loss);
  const varying = dependingOn(nodes, wrt);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    // Only nodes between a wanted value and the loss: a frozen backbone under a trained head costs no backward.
    if (!needed.has(i) || !node.outputs.some((o) => varying.has(o))) continue;
    const dOutputs = node.outputs.map((o) => grads.get(o));
    if (dOutputs.every((d) => d === undefined)) continue;
    const def = opNamed(node.op);
    const dInputs = def.backward?.({ g, node, dOutputs }) ?? [];
    node.inputs.forEach((input, k) => {
      const d = dInputs[k];
      if (d === undefined) return;
      const prior = grads.get(input);
      grads.set(input, prior === undefined ? d : g.op('Add', [prior, d]));
    });
  }
  return new Map(wrt.map((w) => [w, grads.get(w) ?? zerosLike(g, w)]));
}

/** Indices of the nodes `targets` depend on. */
function reaching(nodes: GraphBuilder['graph']['nodes'], ...targets: string[]): Set<number> {
  const wanted = new Set(targets);
  const out = new Set<number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!nodes[i].outputs.some((o) => wanted.has(o))) continue;
    out.add(i);
    for (const input of nodes[i].inputs) wanted.add(input);
  }
  return out;
}

/** The values that depend on any of `wrt`. */
function dependingOn(nodes: GraphBuilder['graph']['nodes'], wrt: readonly string[]): Set<string> {
  const out = new Set(wrt);
  for (const n of nodes) if (n.inputs.some((i) => out.has(i))) for (const o of n.outputs) out.add(o);
  return out;
}

/** The graph without nodes no output depends on (a backward rule's gradient of an input nobody asked for). */
export function withoutDeadNodes(g: GraphBuilder): void {
  const live = reaching(g.graph.nodes, ...g.graph.outputs);
  const nodes = g.graph.nodes.filter((_, i) => live.has(i));
  g.graph.nodes.splice(0, g.graph.nodes.length, ...nodes);
}

const zerosLike = (g: GraphBuilder, name: string) => g.op('ExpandAs', [g.constant(0), name]);
