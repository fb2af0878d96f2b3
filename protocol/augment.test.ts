import { describe, expect, it } from 'vitest';
import { augmentationOf, augmentBatch, augmentRefusal } from './augment';
import { buildChunks, type DatasetManifest, shardBatch } from './dataset';

/** `count` samples of (channels, height, width), each with one lit pixel per channel at (r, c) and (r+1, c+2). */
function lit(count: number, [channels, height, width]: number[], r: number, c: number) {
  const x = new Float32Array(count * channels * height * width);
  for (let i = 0; i < count; i++)
    for (let ch = 0; ch < channels; ch++) {
      const plane = (i * channels + ch) * height * width;
      x[plane + r * width + c] = ch + 1;
      x[plane + (r + 1) * width + c + 2] = ch + 10;
    }
  return x;
}

describe('image augmentation', () => {
  it('moves each sample by the shift its stream position draws, mirrored when drawn, zero where it came from outside', () => {
    const shape = [2, 9, 11];
    const a = { crop: 2, flip: true };
    const x = lit(64, shape, 4, 4);
    augmentBatch(x, shape, a, 7, (i) => 100 + i);
    const size = 2 * 9 * 11;
    for (let i = 0; i < 64; i++) {
      const { dx, dy, flip } = augmentationOf(a, 7, 100 + i);
      for (let ch = 0; ch < 2; ch++) {
        const plane = x.subarray(i * size + ch * 99, i * size + (ch + 1) * 99);
        // Output (r, c) reads input (r + dy, mirrored c + dx): input (4, 4) lands at row 4 - dy.
        const col = (c: number) => (flip ? 10 - (c - dx) : c - dx);
        expect(plane[(4 - dy) * 11 + col(4)]).toBe(ch + 1);
        expect(plane[(5 - dy) * 11 + col(6)]).toBe(ch + 10);
        expect(plane.filter((v) => v !== 0)).toHaveLength(2);
      }
    }
  });

  it('draws every shift within the crop and mirrors about half the samples', () => {
    const seen = new Set<string>();
    let flipped = 0;
    for (let p = 0; p < 4000; p++) {
      const { dx, dy, flip } = augmentationOf({ crop: 2, flip: true }, 3, p);
      expect(Math.max(Math.abs(dx), Math.abs(dy))).toBeLessThanOrEqual(2);
      seen.add(`${dx},${dy}`);
      flipped += flip ? 1 : 0;
    }
    expect(seen.size).toBe(25);
    expect(flipped / 4000).toBeGreaterThan(0.45);
    expect(flipped / 4000).toBeLessThan(0.55);
    expect(augmentationOf({ crop: 2, flip: false }, 3, 5).flip).toBe(false);
  });

  it('leaves samples alone when asked for nothing, and pixels at the edge fall off rather than wrap', () => {
    const x = lit(4, [1, 5, 5], 0, 0);
    const before = x.slice();
    augmentBatch(x, [1, 5, 5], { crop: 0, flip: false }, 1, (i) => i);
    expect(x).toEqual(before);
    augmentBatch(x, [1, 5, 5], { crop: 3, flip: false }, 1, (i) => i);
    for (let i = 0; i < 4; i++) {
      const { dx, dy } = augmentationOf({ crop: 3, flip: false }, 1, i);
      // Input (0, 0) lands at (-dy, -dx), input (1, 2) at (1 - dy, 2 - dx): each kept only inside the 5x5 image.
      const kept = [dy <= 0 && dx <= 0, dy <= 1 && Math.abs(dx) <= 2].filter(Boolean).length;
      expect(x.subarray(i * 25, i * 25 + 25).filter((v) => v !== 0)).toHaveLength(kept);
    }
  });

  it('gives a sample the same pixels however the round is cut into shards (worker, recomputation, plain run)', () => {
    const count = 40;
    const features = Uint8Array.from({ length: count * 36 }, (_, i) => (i * 37) % 251);
    const chunks = buildChunks(new Uint8Array(count), features, 36, 16);
    const m: DatasetManifest = {
      ...{ name: 'toy', split: 'train', samples: count, featureShape: [1, 6, 6], featureDtype: 'u8', featureScale: 1, classes: 2, chunkSize: 16 },
      chunks: chunks.map((c, index) => ({ index, samples: Math.min(16, count - index * 16), bytes: c.length, sha256: '' })),
    };
    const augment = { crop: 2, flip: true };
    const whole = shardBatch(m, (c) => chunks[c], { seed: 5, cursor: 30, count: 20, augment });
    const part = shardBatch(m, (c) => chunks[c], { seed: 5, cursor: 38, count: 12, augment });
    expect(part.x).toEqual(whole.x.subarray(8 * 36));
    expect(shardBatch(m, (c) => chunks[c], { seed: 5, cursor: 30, count: 20 }).x).not.toEqual(whole.x);
  });

  it('is refused for samples that are not images', () => {
    expect(augmentRefusal([784])).toMatch(/needs images/);
    expect(augmentRefusal([64, 1, 1])).toMatch(/needs images/);
    expect(augmentRefusal([1, 28, 28])).toBeUndefined();
  });
});
