import { describe, expect, it } from 'vitest';
import { allFinite, decodeFrame, decodeTensor, encodeFrame, encodeTensor, HEADER_BYTES, INT8_BLOCK, tensorWithFrameRoom } from './frames';
import { f16ToF32, f32ToF16 } from './half';

const header = { kind: 'gradient' as const, job: 3, round: 7, shard: 2 };
const wave = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'none';
};

describe('tensor frames', () => {
  it('round-trips f32 exactly, with the header fields intact', () => {
    const data = wave(1000);
    const frame = decodeFrame(encodeTensor(header, data, 'f32'));
    expect(frame).toMatchObject({ ...header, dtype: 'f32', count: 1000 });
    expect(decodeTensor(frame)).toEqual(data);
  });

  it('encodes a tensor made with room for its header in place, and copies any other', () => {
    const roomy = tensorWithFrameRoom(1000);
    roomy.set(wave(1000));
    const frame = encodeTensor(header, roomy, 'f32');
    expect(frame.buffer).toBe(roomy.buffer); // no copy: the header went in front
    expect(decodeFrame(frame)).toMatchObject({ ...header, dtype: 'f32', count: 1000 });
    expect(decodeTensor(decodeFrame(frame))).toEqual(wave(1000));
    // A view at the same offset of a larger buffer has no room of its own: writing a header there would clobber it.
    const shared = new Float32Array(new ArrayBuffer(HEADER_BYTES + 4 * 1001), HEADER_BYTES, 1000);
    shared.set(wave(1000));
    const copied = encodeTensor(header, shared, 'f32');
    expect(copied.buffer).not.toBe(shared.buffer);
    expect(decodeTensor(decodeFrame(copied))).toEqual(wave(1000));
    expect(new Uint8Array(shared.buffer, 0, HEADER_BYTES).every((b) => b === 0)).toBe(true);
  });

  it('refuses truncated, mis-sized, oversized and mislabelled frames with stable codes', () => {
    const good = encodeTensor(header, wave(64), 'f32');
    expect(code(() => decodeFrame(good.subarray(0, HEADER_BYTES - 1)))).toBe('BAD_FRAME');
    expect(code(() => decodeFrame(good.subarray(0, good.length - 4)))).toBe('BAD_LENGTH');
    expect(code(() => decodeFrame(good, 100))).toBe('FRAME_TOO_LARGE');
    const badMagic = good.slice();
    badMagic[0] ^= 0xff;
    expect(code(() => decodeFrame(badMagic))).toBe('BAD_FRAME');
    const badDtype = good.slice();
    badDtype[4] = 9;
    expect(code(() => decodeFrame(badDtype))).toMatch(/BAD_DTYPE|BAD_FRAME/);
    expect(code(() => decodeFrame(encodeFrame({ ...header, dtype: 'f32', count: 10, blockSize: 0 }, new Uint8Array(16))))).toBe('BAD_LENGTH');
  });

  it('encodes f16 within half precision and its residual holds exactly what was lost', () => {
    const data = wave(4096);
    const residual = new Float32Array(data.length);
    const back = decodeTensor(decodeFrame(encodeTensor(header, data, 'f16', residual)));
    for (let i = 0; i < data.length; i++) {
      expect(Math.abs(back[i] - data[i])).toBeLessThanOrEqual(Math.abs(data[i]) * 2 ** -11 + 1e-7);
      expect(back[i] + residual[i]).toBeCloseTo(data[i], 6);
    }
  });

  it('encodes int8 with one scale per block; error feedback makes the sum over many steps exact', () => {
    const data = wave(3 * INT8_BLOCK + 17);
    const frame = decodeFrame(encodeTensor(header, data, 'int8'));
    expect(frame.blockSize).toBe(INT8_BLOCK);
    expect(frame.payload.byteLength).toBe(4 * 4 + data.length);
    const once = decodeTensor(frame);
    const blockMax = Math.max(...Array.from(data.subarray(0, INT8_BLOCK), Math.abs));
    for (let i = 0; i < INT8_BLOCK; i++) expect(Math.abs(once[i] - data[i])).toBeLessThanOrEqual(blockMax / 127 / 2 + 1e-6);
    // Send the same gradient 50 times with error feedback: the received sum tracks the true sum to one step's error.
    const residual = new Float32Array(data.length);
    const sent = new Float64Array(data.length);
    for (let step = 0; step < 50; step++) {
      const withFeedback = data.map((v, i) => v + residual[i]);
      const got = decodeTensor(decodeFrame(encodeTensor(header, withFeedback, 'int8', residual)));
      for (let i = 0; i < data.length; i++) sent[i] += got[i];
    }
    for (let i = 0; i < data.length; i++) expect(Math.abs(sent[i] - 50 * data[i])).toBeLessThan(0.05);
  });

  it('f16 matches IEEE half on edge cases', () => {
    expect(f16ToF32(f32ToF16(65504))).toBe(65504);
    expect(f16ToF32(f32ToF16(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(f16ToF32(f32ToF16(2 ** -24))).toBe(2 ** -24);
    expect(f16ToF32(f32ToF16(2 ** -26))).toBe(0);
    expect(Object.is(f16ToF32(f32ToF16(-0)), -0)).toBe(true);
    expect(Number.isNaN(f16ToF32(f32ToF16(Number.NaN)))).toBe(true);
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // ties to even
  });

  it('finds NaN and Infinity anywhere', () => {
    const a = wave(100);
    expect(allFinite(a)).toBe(true);
    a[99] = Number.NEGATIVE_INFINITY;
    expect(allFinite(a)).toBe(false);
  });
});
