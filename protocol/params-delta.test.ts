import { describe, expect, it } from 'vitest';
import { decodeFrame } from './frames';
import { fullParams, paramsHash, readParams, stepPublished } from './params-delta';

const N = 5000;
const wave = (seed: number, scale: number) => Float32Array.from({ length: N }, (_, i) => scale * Math.sin(seed * 1.7 + i * 0.013));

describe('int8 parameter deltas', () => {
  it('keep a worker bit-identical to the published shadow, which stays within a delta rounding of the parameters', () => {
    const params = wave(1, 0.5);
    const published = params.slice();
    let worker = readParams(fullParams(published, 1, 0));
    let worst = 0;
    for (let v = 1; v <= 200; v++) {
      const step = wave(v + 1, 0.01); // an optimizer step
      for (let i = 0; i < N; i++) params[i] -= step[i];
      const frame = stepPublished(published, params, 1, v);
      expect(frame.byteLength).toBeLessThan(N * 1.1 + 64); // about a byte a parameter, not four
      worker = readParams(frame, worker);
      expect(paramsHash(worker)).toBe(paramsHash(published));
      for (let i = 0; i < N; i++) worst = Math.max(worst, Math.abs(published[i] - params[i]));
    }
    // One int8 step of a delta of at most ~0.02 is 0.02/127: the error never accumulates over 200 versions.
    expect(worst).toBeLessThan(0.02 / 127);
  });

  it('refuses a delta that does not lead to the coordinator’s copy, or that has nothing to apply to', () => {
    const published = wave(1, 0.5);
    const before = published.slice();
    const frame = stepPublished(published, wave(2, 0.5), 1, 1);
    expect(decodeFrame(frame).kind).toBe('params-delta');
    expect(() => readParams(frame)).toThrow(/needs the copy/);
    const drifted = before.slice();
    drifted[7] += 1e-3; // a worker whose copy is not the version before
    expect(() => readParams(frame, drifted)).toThrow(/do not match/);
    expect(readParams(frame, before)).toEqual(published);
  });

  it('reads a full copy in place when its payload is aligned, and copies it out when not', () => {
    const frame = fullParams(wave(3, 0.5), 1, 0);
    const inPlace = readParams(frame);
    expect(inPlace.buffer).toBe(frame.buffer); // no copy of megabytes a round
    expect(inPlace).toEqual(wave(3, 0.5));
    const shifted = new Uint8Array(frame.byteLength + 1).subarray(1);
    shifted.set(frame);
    const copied = readParams(shifted);
    expect(copied.buffer).not.toBe(shifted.buffer);
    expect(copied).toEqual(wave(3, 0.5));
  });
});
