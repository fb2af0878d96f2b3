import { describe, expect, it } from 'vitest';
import { type CnnSpec, type MlpSpec, parameterCount } from '../../protocol/model';
import { decodeCheckpoint, packCheckpoint, unpackCheckpoint } from './checkpoint';

const ramp = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => i * k);
const data = (n: number) => ({ round: 12, cursor: 3072, paramsVersion: 12, params: ramp(n, 1), optimizer: { t: 12, m: ramp(n, 2), v: ramp(n, 3) } });

/** An independent reader: the safetensors layout parsed by hand, as any other tool would. */
function readSafetensors(buf: Buffer) {
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  const body = buf.subarray(8 + len);
  const tensor = (name: string) => {
    const [a, b] = header[name].data_offsets;
    return new Float32Array(body.buffer.slice(body.byteOffset + a, body.byteOffset + b));
  };
  return { header, tensor, dataStart: 8 + len };
}

describe('checkpoints in the safetensors layout', () => {
  it('names and shapes every MLP layer, keeps the optimizer state, and reads back exactly', () => {
    const model: MlpSpec = { kind: 'mlp', layers: [784, 32, 10] };
    const n = parameterCount(model);
    const c = packCheckpoint(model, data(n));
    const buf = c.data;
    const { header, tensor, dataStart } = readSafetensors(buf);
    expect(dataStart % 8).toBe(0);
    const shapes = Object.fromEntries(
      Object.entries(header)
        .filter(([k]) => k !== '__metadata__')
        .map(([k, v]) => [k, (v as { shape: number[] }).shape]),
    );
    expect(shapes).toEqual({
      w0: [784, 32],
      b0: [32],
      w1: [32, 10],
      b1: [10],
      'optimizer.m.w0': [784, 32],
      'optimizer.m.b0': [32],
      'optimizer.m.w1': [32, 10],
      'optimizer.m.b1': [10],
      'optimizer.v.w0': [784, 32],
      'optimizer.v.b0': [32],
      'optimizer.v.w1': [32, 10],
      'optimizer.v.b1': [10],
    });
    expect(header.w0.dtype).toBe('F32');
    expect(header.__metadata__).toMatchObject({ round: '12', cursor: '3072', optimizerStep: '12' });
    expect(tensor('b0')[0]).toBe(784 * 32); // b0 follows w0 in the flat parameter vector
    expect(tensor('optimizer.v.b1').at(-1)).toBe((n - 1) * 3);
    const back = unpackCheckpoint(c.data, c.sha256, model);
    expect(back.params).toEqual(data(n).params);
    expect(back.optimizer.m).toEqual(data(n).optimizer.m);
    expect(back).toMatchObject({ round: 12, cursor: 3072, paramsVersion: 12 });
  });

  it('names the CNN tensors and refuses a checkpoint of another model or a changed file', () => {
    const cnn: CnnSpec = { kind: 'cnn', input: [1, 28, 28], channels: [4, 8], kernel: 5, classes: 10 };
    const c = packCheckpoint(cnn, data(parameterCount(cnn)));
    const { header } = readSafetensors(c.data);
    expect(header['conv1.w'].shape).toEqual([4, 1, 5, 5]);
    expect(header['fc.w'].shape).toEqual([8 * 7 * 7, 10]);
    expect(() => decodeCheckpoint({ kind: 'mlp', layers: [784, 10] }, c.data)).toThrow(/missing or not F32/);
    expect(() => unpackCheckpoint(c.data, '0'.repeat(64), cnn)).toThrow(/does not match/);
  });
});
