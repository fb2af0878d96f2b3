import { bool, type Infer, int, obj, withDefault } from './schema';

// Image augmentation for training batches: each sample is shifted by up to `crop` pixels each way (a random crop of
// the image padded with zeros) and mirrored left-right half the time. What a sample gets is a function of the job's
// seed and the sample's position in the job's stream alone, so a worker, the coordinator's recomputation of its shard
// and a plain process all see the same pixels, however the round is cut into shards.

export const augmentSchema = obj({ crop: withDefault(int(0, 8), 0), flip: withDefault(bool, false) });
export type Augment = Infer<typeof augmentSchema>;

/** Why a data set of this shape cannot be augmented, or undefined when it can (channels, height, width). */
export function augmentRefusal(featureShape: number[]): string | undefined {
  if (featureShape.length !== 3 || featureShape[1] < 2 || featureShape[2] < 2)
    return `augmentation needs images (channels, height, width); this data set's samples are [${featureShape.join(', ')}]`;
}

/** A 32-bit hash of (seed, position): murmur3's finaliser over both. */
function draw(seed: number, position: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ position) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** What the sample at `position` of the stream gets: its shift (dx, dy) and whether it is mirrored. */
export function augmentationOf(a: Augment, seed: number, position: number) {
  const h = draw(seed, position);
  const span = 2 * a.crop + 1;
  return { dx: (h % span) - a.crop, dy: (Math.floor(h / span) % span) - a.crop, flip: a.flip && h >>> 31 === 1 };
}

/**
 * Augment a batch in place: `x` holds samples of `shape` (channels, height, width), the i-th at stream position
 * `positions(i)`. Output pixel (r, c) is input pixel (r + dy, c' + dx) with c' the column, mirrored when flipped; zero
 * outside the image.
 */
export function augmentBatch(x: Float32Array, shape: number[], a: Augment, seed: number, positions: (i: number) => number): void {
  if (a.crop === 0 && !a.flip) return;
  const [channels, height, width] = shape;
  const size = channels * height * width;
  const sample = new Float32Array(size);
  for (let i = 0; i < x.length / size; i++) {
    const { dx, dy, flip } = augmentationOf(a, seed, positions(i));
    if (dx === 0 && dy === 0 && !flip) continue;
    const base = i * size;
    sample.set(x.subarray(base, base + size));
    for (let ch = 0; ch < channels; ch++) {
      const plane = ch * height * width;
      for (let r = 0; r < height; r++) {
        const from = r + dy;
        const row = base + plane + r * width;
        for (let c = 0; c < width; c++) {
          const col = (flip ? width - 1 - c : c) + dx;
          x[row + c] = from >= 0 && from < height && col >= 0 && col < width ? sample[plane + from * width + col] : 0;
        }
      }
    }
  }
}
