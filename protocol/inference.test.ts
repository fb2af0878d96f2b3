import { describe, expect, it } from 'vitest';
import { keptPerSample, parsePostprocess, postprocess, predictedClasses } from './inference';
import { parseJobSpec } from './job';
import { decodeNpy, encodeNpy } from './npy';

describe('inference specs and outputs', () => {
  it('parses post-processing and refuses what it cannot do', () => {
    expect(parsePostprocess('argmax')).toEqual({ kind: 'argmax' });
    expect(parsePostprocess('topk:5')).toEqual({ kind: 'topk', k: 5 });
    for (const bad of ['topk:0', 'topk:', 'softmax', 'topk:5x']) expect(parsePostprocess(bad)).toBeUndefined();
    const spec = { name: 'i', mode: 'inference', model: { sha256: 'a'.repeat(64) }, dataset: { name: 'd' }, shardSize: 10 };
    expect(parseJobSpec(spec)).toMatchObject({ postprocess: 'raw', outputDtype: 'f32', redundancy: { fraction: 0.05 }, dataset: { split: 'test' } });
    expect(() => parseJobSpec({ ...spec, postprocess: 'softmax' })).toThrow(/postprocess/);
    expect(() => parseJobSpec({ ...spec, model: { sha256: 'xyz' } })).toThrow(/64 hex digits/);
    expect(() => parseJobSpec({ ...spec, rounds: 3 })).toThrow(/rounds: no such field/);
  });

  it('keeps the argmax, the top k best first (ties to the lower index), or the raw rows', () => {
    const rows = Float32Array.from([0.1, 0.7, 0.2, 0.7, /* row 2 */ 3, -1, 2, 5]);
    expect([...postprocess(rows, 2, 4, { kind: 'argmax' })]).toEqual([1, 3]);
    expect([...postprocess(rows, 2, 4, { kind: 'topk', k: 3 })]).toEqual([1, 3, 2, 3, 0, 2]);
    expect(postprocess(rows, 2, 4, { kind: 'raw' })).toBe(rows);
    expect(keptPerSample({ kind: 'topk', k: 3 }, 4)).toBe(3);
    expect([...predictedClasses(rows, 2, 4, { kind: 'raw' })]).toEqual([1, 3]);
    expect([...predictedClasses(Float32Array.from([2, 0, 1, 3]), 2, 4, { kind: 'topk', k: 2 })]).toEqual([2, 1]);
  });

  it("writes numpy's .npy and reads it back, and refuses files it cannot use with a reason", () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i / 3);
    const file = encodeNpy('<f4', [3, 4], new Uint8Array(values.buffer));
    expect(file.byteLength % 16).toBe(0); // header padded to 64 bytes, data 48
    expect(new TextDecoder().decode(file.subarray(10, 70))).toContain("'shape': (3, 4)");
    expect(decodeNpy(file)).toEqual({ dtype: '<f4', shape: [3, 4], values });
    expect(decodeNpy(encodeNpy('<i4', [2], new Uint8Array(Int32Array.from([-1, 7]).buffer))).values).toEqual(Float32Array.from([-1, 7]));
    expect(() => decodeNpy(new TextEncoder().encode('not numpy at all'))).toThrow(/NUMPY magic/);
    expect(() => decodeNpy(file.subarray(0, file.byteLength - 4))).toThrow(/needs 48 data bytes, the file has 44/);
    const fortran = new TextDecoder('latin1').decode(file).replace('False', 'True ');
    expect(() => decodeNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0)))).toThrow(/Fortran order/);
  });
});
