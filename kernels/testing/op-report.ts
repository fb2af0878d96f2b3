import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { GpuBackend } from '../gpu/backend';
import { openDawn } from '../gpu/dawn';
import { runOnCpu } from '../graph/cpu-run';
import { gpuGap, runOnGpu } from '../graph/gpu-run';
import { checkGraph, gradientError } from '../graph/gradcheck';
import type { HostTensor } from '../graph/ir';
import { OP_CASES } from '../graph/op-cases';
import { relativeError, runOnOrt } from '../graph/ort-run';
import { OPS } from '../graph/registry';
import type { Ort } from '../onnx/engine';

// `npm run ops`: every op of the graph IR with its gradient-check error on the CPU reference (finite differences)
// and, engine by engine, how far that engine's loss and gradients are from the CPU reference's (relative, worst).
const ENGINES: [string, Ort, string][] = [
  ['ort-node', ortNode, 'cpu'],
  ['ort-wasm', ortWeb, 'wasm'],
];

const gpu = new GpuBackend(await openDawn());
const rows: string[][] = [];
for (const c of OP_CASES) {
  const { graph, loss, grads } = checkGraph(c);
  const reference = runOnCpu(graph, {});
  const errors: string[] = [];
  for (const [, ort, provider] of ENGINES) {
    const got = await runOnOrt(ort, provider, graph, {}, [loss, ...grads]);
    errors.push(Math.max(...[loss, ...grads].map((n) => relativeError(got.get(n) as HostTensor, reference.get(n) as HostTensor))).toExponential(1));
  }
  if (gpuGap(graph)) errors.push('no gpu form');
  else {
    const got = await runOnGpu(gpu, graph, {}, [loss, ...grads]);
    errors.push(Math.max(...[loss, ...grads].map((n) => relativeError(got[n], reference.get(n) as HostTensor))).toExponential(1));
  }
  rows.push([c.op + (c.label ? ` (${c.label})` : ''), c.inputs.map((s) => `[${s}]`).join(' '), gradientError(c).toExponential(1), ...errors]);
}
const head = ['op', 'inputs', 'cpu finite-diff', ...ENGINES.map(([n]) => `${n} vs cpu`), `ours (${gpu.adapter.slice(0, 24)}) vs cpu`];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
const untested = [...OPS.keys()].filter((name) => !OP_CASES.some((c) => c.op === name));
console.log(`\n${OPS.size} ops registered; without a gradient (checked forward only in the tests): ${untested.join(', ')}`);
console.log(
  `without a gpu form (graphs with them run on onnxruntime and the CPU reference): ${[...OPS.values()]
    .filter((o) => !o.gpu)
    .map((o) => o.name)
    .join(', ')}`,
);
process.exit(0);
