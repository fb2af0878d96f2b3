import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import type { Ort } from '../onnx/engine';
import { runOnCpu } from './cpu-run';
import { checkGraph, forwardGraph } from './gradcheck';
import type { HostTensor } from './ir';
import { FORWARD_CASES, OP_CASES } from './op-cases';
import { relativeError, runOnOrt } from './ort-run';

// Every op's forward and backward, as ONNX, on onnxruntime: the loss and the gradients match the CPU reference.
const ENGINES: [string, Ort, string][] = [
  ['onnxruntime-node cpu', ortNode, 'cpu'],
  ['onnxruntime-web wasm', ortWeb, 'wasm'],
];

describe.each(ENGINES)('graph ops on %s', (_name, ort, provider) => {
  it.each(OP_CASES.map((c) => [`${c.op}${c.label ? ` (${c.label})` : ''}`, c] as const))('%s', async (_label, c) => {
    const { graph, loss, grads } = checkGraph(c);
    const reference = runOnCpu(graph, {});
    const got = await runOnOrt(ort, provider, graph, {}, [loss, ...grads]);
    for (const name of [loss, ...grads]) expect(relativeError(got.get(name) as HostTensor, reference.get(name) as HostTensor)).toBeLessThan(1e-4);
  });

  it.each(FORWARD_CASES.map((c) => [c.op, c] as const))('%s (forward only)', async (_label, c) => {
    const { graph, output } = forwardGraph(c);
    const got = (await runOnOrt(ort, provider, graph, {}, [output])).get(output) as HostTensor;
    const want = runOnCpu(graph, {}).get(output) as HostTensor;
    expect(got.shape).toEqual(want.shape);
    expect(relativeError(got, want)).toBe(0);
  });
});
