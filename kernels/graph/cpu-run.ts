import type { Graph, HostTensor } from './ir';
import { opNamed } from './registry';

/**
 * The CPU reference: run every node of `graph` on concrete tensors, in float32 as every engine stores values.
 * `feeds` gives the inputs and may override parameters; returns every value computed, by name.
 */
export function runOnCpu(graph: Graph, feeds: Record<string, HostTensor>): Map<string, HostTensor> {
  const values = new Map<string, HostTensor>();
  for (const c of graph.constants) values.set(c.name, { shape: [...c.shape], data: c.data });
  for (const p of graph.params) values.set(p.name, feeds[p.name] ?? { shape: [...p.shape], data: p.init });
  for (const input of graph.inputs) {
    const t = feeds[input.name];
    if (!t) throw new Error(`no value fed for input ${input.name}`);
    values.set(input.name, t);
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new Error(`${node.op} reads ${name} before it is computed`);
      return v;
    });
    const outputs = opNamed(node.op).cpu(inputs, node.attrs);
    node.outputs.forEach((name, i) => values.set(name, { shape: outputs[i].shape, data: Float32Array.from(outputs[i].data) }));
  }
  return values;
}
