import { type Augment, augmentBatch } from './augment';
import { sizeOf } from './model';
import { sampleIndices } from './sampling';
import { CLASS_U8, readTarget, type Targets, targetBytes } from './targets';

// The data-set chunk format: written by the coordinator, read by workers and by the coordinator's evaluation.
// A chunk holds `count` samples: their targets (one u8 class unless the manifest's `targets` says otherwise,
// row-major) then features (u8 or little-endian f32, row-major).

/** Samples per chunk; chunks are content-addressed by sha256 so workers verify and cache them. */
export const CHUNK_SAMPLES = 4096;

/** What a worker needs to fetch and verify a data set chunk by chunk. */
export interface DatasetManifest {
  name: string;
  split: string;
  samples: number;
  /** Bytes per sample of features (uint8 pixels, or f32 for CSV). */
  featureShape: number[];
  featureDtype: 'u8' | 'f32';
  /** Features are scaled by this before use (1/255 for pixels). */
  featureScale: number;
  classes: number;
  /** What each sample is labelled with (absent: one u8 class). */
  targets?: Targets;
  /** A text data set's tokenizer (text-tokenizer.ts in the coordinator reads it). */
  tokenizer?: TextTokenizer;
  /** A text data set's characters per token (1 at character level): what turns nats per token into bits per character. */
  charsPerToken?: number;
  chunkSize: number;
  /** sha256 hex of each chunk's bytes, which are labels (u8[count]) then features. */
  chunks: { index: number; samples: number; bytes: number; sha256: string }[];
}

/** Character level (token i the i-th code point of `vocab`), or byte-level BPE given as Hugging Face's tokenizer.json. */
export type TextTokenizer = { kind: 'char'; vocab: string } | { kind: 'bpe'; json: string };

export const targetsOf = (m: Pick<DatasetManifest, 'targets'>): Targets => m.targets ?? CLASS_U8;

/**
 * Assemble a training batch from content-hashed chunks; used by workers and by the coordinator's evaluation alike.
 * `y` holds each sample's class (zeros where the data set has target vectors or a class per position, which go to
 * `targets`).
 */
export function gatherBatch(
  m: DatasetManifest,
  chunk: (index: number) => Uint8Array,
  indices: ArrayLike<number>,
): { x: Float32Array; y: Uint32Array; targets?: Float32Array } {
  const size = sizeOf(m.featureShape);
  const t = targetsOf(m);
  const stride = targetBytes(t);
  const x = new Float32Array(indices.length * size);
  const y = new Uint32Array(indices.length);
  const targets = t.kind === 'class' && t.width === 1 ? undefined : new Float32Array(indices.length * t.width);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i];
    const c = Math.floor(s / m.chunkSize);
    const within = s - c * m.chunkSize;
    const bytes = chunk(c);
    const count = m.chunks[c].samples * stride;
    if (targets) for (let k = 0; k < t.width; k++) targets[i * t.width + k] = readTarget(bytes, within * stride, k, t);
    else y[i] = readTarget(bytes, within * stride, 0, t);
    if (m.featureDtype === 'u8') {
      const off = count + within * size;
      for (let k = 0; k < size; k++) x[i * size + k] = bytes[off + k] * m.featureScale;
    } else {
      const off = count + within * size * 4;
      const view = new DataView(bytes.buffer, bytes.byteOffset + off, size * 4);
      for (let k = 0; k < size; k++) x[i * size + k] = view.getFloat32(k * 4, true) * m.featureScale;
    }
  }
  return targets ? { x, y, targets } : { x, y };
}

/** Which samples a shard holds: [cursor, cursor+count) of the job's shuffled stream, or of the set itself when `ordered`. */
export interface SampleRef {
  seed: number;
  cursor: number;
  count: number;
  ordered?: boolean;
  /** Training batches only: how each sample is varied (augment.ts). */
  augment?: Augment;
}

/** The data set's sample indices that `ref` names. */
export function shardIndices(m: DatasetManifest, { seed, cursor, count, ordered = false }: SampleRef): Uint32Array {
  if (ordered && cursor + count > m.samples) throw new Error(`samples ${cursor}..${cursor + count} are past the end of ${m.name}/${m.split}`);
  return ordered ? Uint32Array.from({ length: count }, (_, i) => cursor + i) : sampleIndices(seed, m.samples, cursor, count);
}

/**
 * The batch a shard computes on, augmented as its job says: one path for workers, the coordinator and plain runs.
 * `indices` are `shardIndices(m, ref)`, passed by a caller that already drew them.
 */
export function shardBatch(m: DatasetManifest, chunk: (index: number) => Uint8Array, ref: SampleRef, indices = shardIndices(m, ref)) {
  const batch = gatherBatch(m, chunk, indices);
  if (ref.augment) augmentBatch(batch.x, m.featureShape, ref.augment, ref.seed, (i) => ref.cursor + i);
  return batch;
}

/**
 * Cut a data set into chunks in the layout above; hashing is left to the caller (it differs per host). `labels` are
 * the samples' encoded targets, `labelStride` bytes each.
 */
export function buildChunks(
  labels: Uint8Array,
  features: Uint8Array | Float32Array,
  featureSize: number,
  chunkSamples = CHUNK_SAMPLES,
  labelStride = 1,
): Uint8Array[] {
  const bytesPerFeature = features instanceof Float32Array ? 4 : 1;
  const featureBytes = new Uint8Array(features.buffer, features.byteOffset, features.byteLength);
  const chunks: Uint8Array[] = [];
  const samples = labels.length / labelStride;
  for (let start = 0; start < samples; start += chunkSamples) {
    const count = Math.min(chunkSamples, samples - start);
    const stride = featureSize * bytesPerFeature;
    const chunk = new Uint8Array(count * labelStride + count * stride);
    chunk.set(labels.subarray(start * labelStride, (start + count) * labelStride), 0);
    chunk.set(featureBytes.subarray(start * stride, (start + count) * stride), count * labelStride);
    chunks.push(chunk);
  }
  return chunks;
}
