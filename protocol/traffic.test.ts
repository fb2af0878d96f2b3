import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeTensor, encodeTensor, frameBytes } from './frames';
import { fullParams, stepPublished } from './params-delta';
import { HOME_BYTES_PER_HOUR, shardTraffic } from './traffic';

const N = 235_146; // the README's MLP 784-256-128-10

describe('shard traffic', () => {
  it('counts the frames a shard really moves: the parameters down, the result up', () => {
    const published = new Float32Array(N).fill(0.1);
    const full = shardTraffic({ mode: 'sync', shardSize: 128, encoding: 'fp32', download: 'fp32' }, N);
    expect(full.down).toBe(fullParams(published, 1, 0).byteLength);
    expect(full.up).toBe(encodeTensor({ kind: 'gradient', job: 1, round: 0, shard: 0 }, published, 'f32').byteLength);
    const lean = shardTraffic({ mode: 'local', shardSize: 128, local: { steps: 16 }, encoding: 'int8', download: 'int8-delta' }, N);
    expect(lean.down).toBe(
      stepPublished(
        published.slice(),
        published.map((x) => x + 1e-3),
        1,
        1,
      ).byteLength,
    );
    expect(lean.up).toBe(frameBytes('int8', N));
    expect(lean.samples).toBe(128 * 16);
    expect(decodeTensor(decodeFrame(fullParams(published, 1, 0))).length).toBe(N);
  });

  it('prices the form’s old default far over a home connection’s hour and the volunteer mode under it', () => {
    const old = shardTraffic({ mode: 'sync', shardSize: 128, encoding: 'fp32', download: 'fp32' }, N);
    const int8 = shardTraffic({ mode: 'sync', shardSize: 128, encoding: 'int8', download: 'int8-delta' }, N);
    const lean = shardTraffic({ mode: 'local', shardSize: 128, local: { steps: 16 }, encoding: 'int8', download: 'int8-delta' }, N);
    expect(old.perHourAtReference).toBeGreaterThan(50 * HOME_BYTES_PER_HOUR);
    expect(int8.perHourAtReference).toBeGreaterThan(HOME_BYTES_PER_HOUR);
    expect(lean.perHourAtReference).toBeLessThan(HOME_BYTES_PER_HOUR);
    expect(old.perHourAtReference / lean.perHourAtReference).toBeGreaterThan(60); // 4x per way (less the int8 scales), 16x fewer shards
  });
});
