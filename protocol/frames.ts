import { GridError } from './errors';
import { f16ToF32, f32ToF16 } from './half';

/**
 * Binary tensor frame: a 32-byte little-endian header, then the payload.
 *   0 u16 magic 0x4754 ('GT')   2 u8 version   3 u8 kind
 *   4 u8 dtype                   5 u8 flags     6 u16 reserved
 *   8 u32 job   12 u32 round   16 u32 shard   20 u32 element count
 *  24 u32 block size (int8: elements per scale)   28 u32 reserved
 * int8 payload: f32 scales[ceil(count/block)], then int8 values[count].
 */
export const FRAME_MAGIC = 0x4754;
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 32;

export const FrameKind = { gradient: 1, delta: 2, params: 3, data: 4, output: 5, 'params-delta': 6 } as const;
/** Where a frame's header holds its kind. */
export const KIND_BYTE = 3;
export type FrameKindName = keyof typeof FrameKind;
export const DType = { f32: 0, f16: 1, int8: 2, u8: 3 } as const;
export type DTypeName = keyof typeof DType;

export interface FrameHeader {
  kind: FrameKindName;
  dtype: DTypeName;
  job: number;
  round: number;
  shard: number;
  count: number;
  blockSize: number;
}

export interface Frame extends FrameHeader {
  /** The raw payload bytes, a view into the frame (not copied). */
  payload: Uint8Array;
}

const kindName = (k: number) => (Object.keys(FrameKind) as FrameKindName[]).find((n) => FrameKind[n] === k);
const dtypeName = (d: number) => (Object.keys(DType) as DTypeName[]).find((n) => DType[n] === d);

export function payloadBytes(dtype: DTypeName, count: number, blockSize: number): number {
  switch (dtype) {
    case 'f32':
      return count * 4;
    case 'f16':
      return count * 2;
    case 'u8':
      return count;
    case 'int8':
      return Math.ceil(count / blockSize) * 4 + count;
  }
}

/** The wire dtype of a job's result encoding. */
export const dtypeOf = (encoding: 'fp32' | 'fp16' | 'int8'): 'f32' | 'f16' | 'int8' => (encoding === 'fp32' ? 'f32' : encoding === 'fp16' ? 'f16' : 'int8');

/** Bytes of a whole frame of `count` values in `encoding`, as encodeTensor writes it. */
export const frameBytes = (encoding: 'fp32' | 'fp16' | 'int8', count: number) => HEADER_BYTES + payloadBytes(dtypeOf(encoding), count, INT8_BLOCK);

/** Decode a frame header and check the payload length; copies nothing. */
export function decodeFrame(buf: ArrayBuffer | Uint8Array, maxBytes = Infinity): Frame {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.byteLength > maxBytes) throw new GridError('FRAME_TOO_LARGE');
  if (bytes.byteLength < HEADER_BYTES) throw new GridError('BAD_FRAME', `frame of ${bytes.byteLength} bytes is shorter than its header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (v.getUint16(0, true) !== FRAME_MAGIC) throw new GridError('BAD_FRAME', 'bad magic');
  if (v.getUint8(2) !== FRAME_VERSION) throw new GridError('VERSION_MISMATCH', `frame version ${v.getUint8(2)}`);
  const kind = kindName(v.getUint8(KIND_BYTE));
  if (!kind) throw new GridError('BAD_FRAME', `unknown frame kind ${v.getUint8(KIND_BYTE)}`);
  const dtype = dtypeName(v.getUint8(4));
  if (!dtype) throw new GridError('BAD_DTYPE', `unknown dtype ${v.getUint8(4)}`);
  const count = v.getUint32(20, true);
  const blockSize = v.getUint32(24, true);
  if (dtype === 'int8' && blockSize === 0) throw new GridError('BAD_FRAME', 'int8 frame needs a block size');
  const want = payloadBytes(dtype, count, blockSize);
  if (bytes.byteLength - HEADER_BYTES !== want)
    throw new GridError('BAD_LENGTH', `header says ${want} payload bytes, frame has ${bytes.byteLength - HEADER_BYTES}`);
  return {
    kind,
    dtype,
    job: v.getUint32(8, true),
    round: v.getUint32(12, true),
    shard: v.getUint32(16, true),
    count,
    blockSize,
    payload: bytes.subarray(HEADER_BYTES),
  };
}

export function encodeFrame(h: FrameHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  out.set(payload, HEADER_BYTES);
  return writeHeader(out, h);
}

function writeHeader(out: Uint8Array, h: FrameHeader): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  v.setUint16(0, FRAME_MAGIC, true);
  v.setUint8(2, FRAME_VERSION);
  v.setUint8(3, FrameKind[h.kind]);
  v.setUint8(4, DType[h.dtype]);
  v.setUint32(8, h.job, true);
  v.setUint32(12, h.round, true);
  v.setUint32(16, h.shard, true);
  v.setUint32(20, h.count, true);
  v.setUint32(24, h.blockSize, true);
  return out;
}

/**
 * A zeroed f32 tensor with room for a frame header in front of it: sending it as an f32 frame writes the header
 * there instead of copying megabytes, which on a language model was one more large allocation (and GC) a round.
 */
export function tensorWithFrameRoom(count: number): Float32Array {
  return new Float32Array(new ArrayBuffer(HEADER_BYTES + 4 * count), HEADER_BYTES, count);
}

const hasFrameRoom = (data: Float32Array) => data.byteOffset === HEADER_BYTES && data.buffer.byteLength === HEADER_BYTES + data.byteLength;

/** A frame of `bytes` payload to be filled in place: the frame and its payload (aligned for f32 views). */
function emptyFrame(h: FrameHeader, bytes: number) {
  const frame = writeHeader(new Uint8Array(HEADER_BYTES + bytes), h);
  return { frame, payload: frame.subarray(HEADER_BYTES) };
}

export const INT8_BLOCK = 256;

/** Encode a float tensor in the requested dtype; `residual` (error feedback) gets what the encoding lost. */
export function encodeTensor(
  header: Omit<FrameHeader, 'dtype' | 'count' | 'blockSize'>,
  data: Float32Array,
  dtype: 'f32' | 'f16' | 'int8',
  residual?: Float32Array,
): Uint8Array {
  const count = data.length;
  if (dtype === 'f32') {
    const h = { ...header, dtype, count, blockSize: 0 };
    // In place when the tensor was made with room for the header: the frame then shares (and owns) its memory.
    if (hasFrameRoom(data)) return writeHeader(new Uint8Array(data.buffer), h);
    return encodeFrame(h, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  if (dtype === 'f16') {
    const { frame, payload } = emptyFrame({ ...header, dtype, count, blockSize: 0 }, 2 * count);
    const half = new Uint16Array(payload.buffer, payload.byteOffset, count);
    for (let i = 0; i < count; i++) {
      half[i] = f32ToF16(data[i]);
      if (residual) residual[i] = data[i] - f16ToF32(half[i]);
    }
    return frame;
  }
  const blocks = Math.ceil(count / INT8_BLOCK);
  const { frame, payload } = emptyFrame({ ...header, dtype, count, blockSize: INT8_BLOCK }, blocks * 4 + count);
  const scales = new Float32Array(payload.buffer, payload.byteOffset, blocks);
  const q = new Int8Array(payload.buffer, payload.byteOffset + blocks * 4, count);
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(count, (b + 1) * INT8_BLOCK);
    let max = 0;
    for (let i = b * INT8_BLOCK; i < end; i++) max = Math.max(max, Math.abs(data[i]));
    const scale = max / 127 || 1;
    scales[b] = scale;
    for (let i = b * INT8_BLOCK; i < end; i++) {
      q[i] = Math.round(data[i] / scale);
      if (residual) residual[i] = data[i] - q[i] * scale;
    }
  }
  return frame;
}

/** Decode a frame's payload to fp32 (copies, since the source buffer may be reused by the transport). */
export function decodeTensor(f: Frame, out: Float32Array = new Float32Array(f.count)): Float32Array {
  if (out.length !== f.count) throw new GridError('WRONG_SIZE', `frame has ${f.count} elements, target holds ${out.length}`);
  const p = f.payload;
  if (f.dtype === 'f32') {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(p);
  } else if (f.dtype === 'f16') {
    const aligned = p.byteOffset % 2 === 0 ? p : p.slice();
    const half = new Uint16Array(aligned.buffer, aligned.byteOffset, f.count);
    for (let i = 0; i < f.count; i++) out[i] = f16ToF32(half[i]);
  } else if (f.dtype === 'int8') {
    const blocks = Math.ceil(f.count / f.blockSize);
    const aligned = p.byteOffset % 4 === 0 ? p : p.slice();
    const scales = new Float32Array(aligned.buffer, aligned.byteOffset, blocks);
    const q = new Int8Array(aligned.buffer, aligned.byteOffset + blocks * 4, f.count);
    for (let i = 0; i < f.count; i++) out[i] = q[i] * scales[(i / f.blockSize) | 0];
  } else {
    for (let i = 0; i < f.count; i++) out[i] = p[i];
  }
  return out;
}

/** True when every element is finite; workers are untrusted. */
export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
