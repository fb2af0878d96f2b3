import { createHash } from 'node:crypto';
import { type ModelSpec, parameterShapes, sizeOf } from '../../protocol/model';
import type { OptimizerState } from './optimizer';

/** Everything needed to resume a job exactly where a round boundary left it. */
export interface CheckpointData {
  round: number;
  cursor: number;
  paramsVersion: number;
  params: Float32Array;
  optimizer: OptimizerState;
}

interface TensorEntry {
  dtype: 'F32';
  shape: number[];
  data_offsets: [number, number];
}

const FORMAT = 'grid-checkpoint/2';

/** Named tensors in file order: the parameters per layer, then the optimizer's moments under `optimizer.m.` / `optimizer.v.`. */
function tensorsOf(model: ModelSpec, c: CheckpointData) {
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  const sections = [
    ['', c.params],
    ['optimizer.m.', c.optimizer.m],
    ['optimizer.v.', c.optimizer.v],
  ] as const;
  for (const [prefix, flat] of sections) {
    let offset = 0;
    for (const t of parameterShapes(model)) {
      const n = sizeOf(t.shape);
      out.push({ name: `${prefix}${t.name}`, shape: t.shape, data: flat.subarray(offset, offset + n) });
      offset += n;
    }
  }
  return out;
}

/** A checkpoint as safetensors, its resume point and model in `__metadata__`. */
export function encodeCheckpoint(model: ModelSpec, c: CheckpointData): Buffer {
  return encodeSafetensors(tensorsOf(model, c), {
    format: FORMAT,
    round: String(c.round),
    cursor: String(c.cursor),
    paramsVersion: String(c.paramsVersion),
    optimizerStep: String(c.optimizer.t),
    model: JSON.stringify(model),
  });
}

/**
 * The safetensors layout (u64 little-endian header length, JSON header of dtype/shape/data_offsets per tensor,
 * raw little-endian data), so `safetensors.torch.load_file` or HF tooling opens a downloaded file as is.
 */
export function encodeSafetensors(tensors: { name: string; shape: number[]; data: Float32Array }[], metadata: Record<string, string>): Buffer {
  const header: Record<string, TensorEntry | Record<string, string>> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data starts 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

export function decodeCheckpoint(model: ModelSpec, buf: Buffer): CheckpointData {
  if (buf.length < 8) throw new Error('checkpoint is truncated');
  const len = Number(buf.readBigUInt64LE(0));
  if (len > buf.length - 8) throw new Error('checkpoint header runs past the end of the file');
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  const meta = header.__metadata__ ?? {};
  if (meta.format !== FORMAT) throw new Error(`not a grid checkpoint (format ${JSON.stringify(meta.format)})`);
  const data = buf.subarray(8 + len);
  const n = parameterShapes(model).reduce((s, t) => s + sizeOf(t.shape), 0);
  const flat = { '': new Float32Array(n), 'optimizer.m.': new Float32Array(n), 'optimizer.v.': new Float32Array(n) };
  for (const [prefix, into] of Object.entries(flat)) {
    let offset = 0;
    for (const t of parameterShapes(model)) {
      const e: TensorEntry | undefined = header[`${prefix}${t.name}`];
      if (e?.dtype !== 'F32' || JSON.stringify(e.shape) !== JSON.stringify(t.shape))
        throw new Error(`checkpoint tensor ${prefix}${t.name} is missing or not F32${JSON.stringify(t.shape)}`);
      const [a, b] = e.data_offsets;
      if (b - a !== sizeOf(t.shape) * 4 || b > data.length) throw new Error(`checkpoint tensor ${prefix}${t.name} has bad offsets`);
      into.set(new Float32Array(data.buffer.slice(data.byteOffset + a, data.byteOffset + b)), offset);
      offset += sizeOf(t.shape);
    }
  }
  return {
    round: Number(meta.round),
    cursor: Number(meta.cursor),
    paramsVersion: Number(meta.paramsVersion),
    params: flat[''],
    optimizer: { t: Number(meta.optimizerStep), m: flat['optimizer.m.'], v: flat['optimizer.v.'] },
  };
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A checkpoint ready for the store: its bytes and their hash (the store keeps both; readers check one against the other). */
export function packCheckpoint(model: ModelSpec, c: CheckpointData): { data: Buffer; sha256: string } {
  const data = encodeCheckpoint(model, c);
  return { data, sha256: sha256(data) };
}

/** Verify checkpoint bytes against the hash on record, then decode them. */
export function unpackCheckpoint(data: Uint8Array, expectedSha: string, model: ModelSpec): CheckpointData {
  const got = sha256(data);
  if (got !== expectedSha) throw new Error(`checkpoint hash ${got} does not match the store's ${expectedSha}`);
  return decodeCheckpoint(model, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}
