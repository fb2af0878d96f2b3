import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { LayersSpec } from '../../protocol/layers';
import { gptSpec } from '../../protocol/presets';
import { initParams } from '../models/index';
import { onnx } from '../onnx/graph';
import { inferenceGraph, languageModelOnnx, trainingGraph } from '../onnx/models';
import { runOnCpu } from './cpu-run';
import { languageModelGraph } from './model-graphs';

// The export of a language model for use outside the grid (input_ids of any length up to the block) against the
// fixed-block graph the grid trains and evaluates with: causal, so a prefix's logits are the full block's first rows.
describe('a language model exported with a symbolic sequence length', () => {
  const BLOCK = 8;
  const VOCAB = 11;
  const spec: LayersSpec = gptSpec({ kind: 'gpt', vocab: VOCAB, blockSize: BLOCK, nLayer: 2, nHead: 2, nEmbd: 16 }, 'model');
  const params = initParams(spec, 3).map((v, i) => v + 0.05 * Math.sin(i)); // not the symmetric start
  const block = [3, 1, 4, 1, 5, 9, 2, 6];
  const ids = (n: number) => new ort.Tensor('int64', BigInt64Array.from(block.slice(0, n).map(BigInt)), [1, n]);

  it("trains on onnxruntime with the forward's softmax kept for the backward, and no node that nothing reads", () => {
    const { graph } = onnx.ModelProto.decode(trainingGraph(spec));
    const nodes = graph?.node ?? [];
    const read = new Set([...nodes.flatMap((n) => n.input ?? []), ...(graph?.output ?? []).map((o) => o.name)]);
    expect(nodes.filter((n) => !n.output?.some((o) => read.has(o))).map((n) => n.opType)).toEqual([]);
    // FusedAttention's log-sum-exp is for our kernels' backward: in ONNX it would be computed for nobody.
    expect(nodes.filter((n) => n.opType === 'ReduceLogSumExp')).toEqual([]);
    expect(nodes.filter((n) => n.opType === 'Softmax')).toHaveLength(2); // one a layer: the backward reads it, not a second
  });

  it('declares input_ids [batch, sequence] int64 and logits [batch, sequence, vocab]', () => {
    const { graph } = onnx.ModelProto.decode(languageModelOnnx(spec, params));
    type Value = NonNullable<NonNullable<typeof graph>['input']>[number];
    const dims = (v?: Value | null) => v?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    expect([graph?.input?.[0].name, graph?.input?.[0].type?.tensorType?.elemType, dims(graph?.input?.[0])]).toEqual([
      'input_ids',
      onnx.TensorProto.DataType.INT64,
      ['batch', 'sequence'],
    ]);
    expect([graph?.output?.map((o) => o.name), dims(graph?.output?.[0])]).toEqual([['logits'], ['batch', 'sequence', VOCAB]]);
  });

  it("gives, for every length up to the block, the first rows of the fixed-block model's logits, on onnxruntime and the CPU reference", async () => {
    const fixed = await ort.InferenceSession.create(inferenceGraph(spec, params));
    const full = (await fixed.run({ input: new ort.Tensor('float32', Float32Array.from(block), [1, BLOCK]) })).logits.data as Float32Array;
    const exported = await ort.InferenceSession.create(languageModelOnnx(spec, params));
    const graph = languageModelGraph(spec, params);
    for (const n of [1, 5, BLOCK]) {
      const out = (await exported.run({ input_ids: ids(n) })).logits;
      expect(out.dims).toEqual([1, n, VOCAB]);
      const onCpu = runOnCpu(graph, { input_ids: { shape: [1, n], data: Float32Array.from(block.slice(0, n)) } }).get('logits');
      expect(onCpu?.shape).toEqual([1, n, VOCAB]);
      for (let i = 0; i < n * VOCAB; i++) {
        expect((out.data as Float32Array)[i]).toBeCloseTo(full[i], 5);
        expect(onCpu?.data[i]).toBeCloseTo(full[i], 5);
      }
    }
    await expect(exported.run({ input_ids: new ort.Tensor('int64', new BigInt64Array(BLOCK + 1), [1, BLOCK + 1]) })).rejects.toThrow();
    await Promise.all([fixed.release(), exported.release()]);
  });
});
