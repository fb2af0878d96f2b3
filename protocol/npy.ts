import { GridError } from './errors';
import { f16ToF32 } from './half';
import { sizeOf } from './model';

/**
 * numpy's `.npy` format, version 1.0: magic, a little-endian u16 header length, a Python-literal dict header padded
 * with spaces to a multiple of 64 bytes and ended by a newline, then the C-order data.
 */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyDtype = '<f4' | '<f2' | '<i4' | '|u1';
const WIDTH: Record<string, number> = { '<f4': 4, '<f2': 2, '<i4': 4, '|u1': 1, '<f8': 8, '<i8': 8 };

/** The header and data of an array of `shape`; `data` holds its raw little-endian bytes. */
export function encodeNpy(dtype: NpyDtype, shape: number[], data: Uint8Array): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(MAGIC.length + 4 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out.set([1, 0], MAGIC.length);
  new DataView(out.buffer).setUint16(MAGIC.length + 2, header.length, true);
  out.set(new TextEncoder().encode(header), MAGIC.length + 4);
  out.set(data, MAGIC.length + 4 + header.length);
  return out;
}

export interface NpyArray {
  dtype: string;
  shape: number[];
  /** The values as float32 (every supported dtype converts exactly, but 64-bit ones round). */
  values: Float32Array;
}

const bad = (msg: string) => new GridError('BAD_REQUEST', `not a usable .npy file: ${msg}`);

/** Read a C-order `.npy` of f2/f4/f8, i4/i8 or u1; anything else is a BAD_REQUEST saying why. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('no NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.byteLength) throw bad('header runs past the end');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || dims === undefined) throw bad('header lacks descr, fortran_order or shape');
  if (fortran === 'True') throw bad('Fortran order; save it in C order');
  if (!(descr in WIDTH)) throw bad(`dtype ${descr}; use float32, float16, float64, int32, int64 or uint8`);
  const shape = dims
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`shape (${dims})`);
  const count = sizeOf(shape);
  const offset = start + headerLen;
  if (bytes.byteLength - offset !== count * WIDTH[descr])
    throw bad(`shape (${dims}) needs ${count * WIDTH[descr]} data bytes, the file has ${bytes.byteLength - offset}`);
  const data = new DataView(bytes.buffer, bytes.byteOffset + offset, count * WIDTH[descr]);
  const values = new Float32Array(count);
  const read: Record<string, (i: number) => number> = {
    '<f4': (i) => data.getFloat32(i * 4, true),
    '<f8': (i) => data.getFloat64(i * 8, true),
    '<f2': (i) => f16ToF32(data.getUint16(i * 2, true)),
    '<i4': (i) => data.getInt32(i * 4, true),
    '<i8': (i) => Number(data.getBigInt64(i * 8, true)),
    '|u1': (i) => data.getUint8(i),
  };
  for (let i = 0; i < count; i++) values[i] = read[descr](i);
  return { dtype: descr, shape, values };
}
