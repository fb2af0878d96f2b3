import type { DatasetManifest } from '../protocol/sampling';

/** Assemble a training batch from content-hashed chunks; used by workers and by the coordinator's evaluation alike. */
export function gatherBatch(m: DatasetManifest, chunk: (index: number) => Uint8Array, indices: ArrayLike<number>): { x: Float32Array; y: Uint32Array } {
  const size = m.featureShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * size);
  const y = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i];
    const c = Math.floor(s / m.chunkSize);
    const within = s - c * m.chunkSize;
    const bytes = chunk(c);
    const count = m.chunks[c].samples;
    y[i] = bytes[within];
    if (m.featureDtype === 'u8') {
      const off = count + within * size;
      for (let k = 0; k < size; k++) x[i * size + k] = bytes[off + k] * m.featureScale;
    } else {
      const off = count + within * size * 4;
      const view = new DataView(bytes.buffer, bytes.byteOffset + off, size * 4);
      for (let k = 0; k < size; k++) x[i * size + k] = view.getFloat32(k * 4, true) * m.featureScale;
    }
  }
  return { x, y };
}
