import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCoordinator } from '../coordinator/server';
import { initParams } from '../kernels/models/index';
import { GraphBuilder, onnx } from '../kernels/onnx/graph';
import { inferenceGraph } from '../kernels/onnx/models';
import type { ModelSpec } from '../protocol/model';
import { api, tempDir } from './helpers';

const mlp = (hidden: number): Uint8Array => {
  const spec: ModelSpec = { kind: 'mlp', layers: [784, hidden, 10] };
  return inferenceGraph(spec, initParams(spec, 1));
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A one-node model running `op` on a float input. */
function oneOp(op: string): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', ['batch', 4]);
  g.output(g.op(op, [x]), 'y', ['batch', 4]);
  return g.build('one-op');
}

/** A model whose weights live in a file beside it (external data). */
function externalData(): Uint8Array {
  const model = onnx.ModelProto.decode(mlp(8));
  const w = model.graph?.initializer?.[0];
  if (!w) throw new Error('the model has no initializer');
  w.rawData = new Uint8Array(0);
  w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  w.externalData = [{ key: 'location', value: 'weights.bin' }];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A protobuf nested `levels` deep as ONNX reads it: a graph whose one node's attribute holds a graph whose one node's
 * attribute holds a graph... Each level is three length-prefixed fields (GraphProto.node, NodeProto.attribute,
 * AttributeProto.g); sizes are summed from the inside out, then the headers written from the outside in.
 */
function nestedModel(levels: number): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return out;
  };
  const fields = [1, 5, 6];
  const sizes: number[] = [0]; // sizes[k]: bytes of the innermost k fields
  for (let k = 1; k <= levels * fields.length; k++) sizes.push(sizes[k - 1] + 1 + varint(sizes[k - 1]).length);
  const headers: number[] = [0x08, 0x08, 0x3a, ...varint(sizes[levels * fields.length])]; // ir_version 8, graph (field 7)
  for (let k = levels * fields.length; k >= 1; k--) headers.push((fields[(levels * fields.length - k) % 3] << 3) | 2, ...varint(sizes[k - 1]));
  return Uint8Array.from(headers);
}

// The model registry: ONNX files checked before they are accepted, stored once by sha256, served to workers.
describe('model registry', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_models_operator';
  const allowed = mlp(32);
  const post = (body: Uint8Array, name = 'test model', who = token) =>
    fetch(`${url}/api/models?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { authorization: `Bearer ${who}` }, body });
  const code = async (res: Response) => [res.status, ((await res.json()) as { error?: { code: string; message: string } }).error?.code];

  beforeAll(async () => {
    const dir = tempDir('grid-models-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: false, operatorToken: token },
      ...{ maxFrameBytes: 1 << 24, maxBodyBytes: 16 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error: console.error } },
      maxModelBytes: 400_000,
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  it('accepts an ONNX model once, lists its inputs and outputs, and serves its bytes to workers by hash', async () => {
    const res = await post(allowed, 'mlp 32');
    expect(res.status).toBe(201);
    const model = (await res.json()) as { sha256: string; opset: number; inputs: unknown[]; outputs: { name: string }[]; ops: string[] };
    expect(model.sha256).toBe(sha(allowed));
    expect(model.opset).toBe(17);
    expect(model.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['batch', 784] }]);
    expect(model.outputs.map((o) => o.name)).toEqual(['logits', 'probabilities']);
    expect(model.ops).toContain('Gemm');
    expect((await post(allowed, 'again')).status).toBe(200); // the same bytes are one model
    const worker = await api<{ token: string }>(url, token, '/api/tokens', { name: 'w', scopes: ['worker'] });
    const file = await fetch(`${url}/api/models/${model.sha256}/model.onnx`, { headers: { authorization: `Bearer ${worker.token}` } });
    expect(sha(new Uint8Array(await file.arrayBuffer()))).toBe(model.sha256);
    expect(file.headers.get('cache-control')).toContain('immutable');
    expect((await api<{ name: string }>(url, worker.token, `/api/models/${model.sha256}`)).name).toBe('mlp 32');
    expect((await fetch(`${url}/api/models/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${worker.token}` } })).status).toBe(404);
    expect((await post(allowed, 'by a worker', worker.token)).status).toBe(403);
  });

  it('checks a file off the event loop: a protobuf nested 20,000 deep is refused while /health answers at once', async () => {
    const bytes = nestedModel(20_000);
    const decodes = vi.spyOn(onnx.ModelProto, 'decode'); // calls on this thread, where the event loop runs
    const upload = post(bytes, 'nested');
    let slowest = 0;
    let answered = false;
    void upload.then(() => {
      answered = true;
    });
    while (!answered) {
      const t0 = performance.now();
      await fetch(`${url}/health`);
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await upload;
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'BAD_MODEL']);
    console.log(`nested model: ${bytes.length} bytes refused; slowest /health meanwhile ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(250);
    expect(decodes).not.toHaveBeenCalled();
    decodes.mockRestore();
  });

  it('refuses, each with its code: not ONNX, an operator onnxruntime-web lacks, external data, a file over the limit', async () => {
    expect(await code(await post(new TextEncoder().encode('this is not a model')))).toEqual([400, 'BAD_MODEL']);
    const unknownOp = await post(oneOp('NoSuchOperator'));
    expect(unknownOp.status).toBe(400);
    expect(((await unknownOp.json()) as { error: { message: string } }).error.message).toMatch(/NoSuchOperator/);
    expect((await post(oneOp('Relu'))).status).toBe(201); // the same graph with an operator it has
    const external = await post(externalData());
    expect((await external.clone().json()) as object).toMatchObject({ error: { code: 'BAD_MODEL' } });
    expect(((await external.json()) as { error: { message: string } }).error.message).toMatch(/external data/);
    const foreign = onnx.ModelProto.decode(oneOp('Relu'));
    Object.assign(foreign.graph?.node?.[0] ?? {}, { opType: 'FusedThing', domain: 'com.example' });
    foreign.opsetImport.push({ domain: 'com.example', version: 1 });
    const custom = await post(onnx.ModelProto.encode(foreign).finish());
    expect(((await custom.json()) as { error: { message: string } }).error.message).toMatch(/FusedThing of domain com.example/);
    expect(mlp(128).byteLength).toBeGreaterThan(400_000);
    expect(await code(await post(mlp(128)))).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });
});

describe('model registry with an allow-list', () => {
  it('refuses an inference job whose model left the allow-list after it was registered', async () => {
    const dir = tempDir('grid-models-relist-');
    const common = {
      ...{ port: 0, host: '127.0.0.1', databaseUrl: `sqlite:${join(dir, 'grid.db')}`, dataDir: dir, webDir: join(dir, 'web'), enrolment: false },
      ...{ operatorToken: 'gt_relist', maxFrameBytes: 1 << 24, maxBodyBytes: 16 << 20, heartbeatMs: 5000 },
      log: { debug() {}, info() {}, warn() {}, error: console.error },
    };
    const model = mlp(16);
    const first = await startCoordinator(common);
    const reg = await fetch(`http://127.0.0.1:${first.port}/api/models?name=m`, {
      method: 'POST',
      headers: { authorization: 'Bearer gt_relist' },
      body: model,
    });
    expect(reg.status).toBe(201);
    await first.close();
    const second = await startCoordinator({ ...common, modelAllowlist: [sha(mlp(24))] });
    try {
      const spec = { name: 'i', mode: 'inference', model: { sha256: sha(model) }, dataset: { name: 'fashion-mnist', split: 'test' }, shardSize: 500 };
      const res = await fetch(`http://127.0.0.1:${second.port}/api/jobs`, {
        method: 'POST',
        headers: { authorization: 'Bearer gt_relist' },
        body: JSON.stringify(spec),
      });
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([403, 'MODEL_NOT_ALLOWED']);
    } finally {
      await second.close();
    }
  });

  it('accepts only the listed hashes', async () => {
    const dir = tempDir('grid-models-allow-');
    const listed = mlp(16);
    const coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: false, operatorToken: 'gt_allow' },
      ...{ maxFrameBytes: 1 << 24, maxBodyBytes: 16 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error: console.error } },
      modelAllowlist: [sha(listed)],
    });
    try {
      const post = (body: Uint8Array) =>
        fetch(`http://127.0.0.1:${coord.port}/api/models?name=m`, { method: 'POST', headers: { authorization: 'Bearer gt_allow' }, body });
      const refused = await post(mlp(24));
      expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([403, 'MODEL_NOT_ALLOWED']);
      expect((await post(listed)).status).toBe(201);
    } finally {
      await coord.close();
    }
  });
});
