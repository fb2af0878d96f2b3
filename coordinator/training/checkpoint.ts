import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OptimizerState } from './optimizer';

/** Everything needed to resume a job exactly where a round boundary left it. */
export interface CheckpointData {
  round: number;
  cursor: number;
  paramsVersion: number;
  params: Float32Array;
  optimizer: OptimizerState;
}

const MAGIC = 'GRIDCKP1';

/** Serialize: magic, u32 header length, JSON header, then params, m and v as little-endian f32. */
export function encodeCheckpoint(c: CheckpointData): Buffer {
  const header = Buffer.from(JSON.stringify({ round: c.round, cursor: c.cursor, paramsVersion: c.paramsVersion, t: c.optimizer.t, n: c.params.length }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const f32 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return Buffer.concat([Buffer.from(MAGIC), len, header, f32(c.params), f32(c.optimizer.m), f32(c.optimizer.v)]);
}

export function decodeCheckpoint(buf: Buffer): CheckpointData {
  if (buf.subarray(0, 8).toString() !== MAGIC) throw new Error('not a grid checkpoint');
  const hlen = buf.readUInt32LE(8);
  const h = JSON.parse(buf.subarray(12, 12 + hlen).toString());
  const body = buf.subarray(12 + hlen);
  if (body.length !== h.n * 12) throw new Error(`checkpoint body is ${body.length} bytes, expected ${h.n * 12}`);
  const all = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
  return {
    round: h.round,
    cursor: h.cursor,
    paramsVersion: h.paramsVersion,
    params: all.slice(0, h.n),
    optimizer: { t: h.t, m: all.slice(h.n, 2 * h.n), v: all.slice(2 * h.n) },
  };
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Write durably (temp file, fsync, rename) so a SIGKILL leaves either the old file or the new one, never half. */
export function writeCheckpointFile(dir: string, jobId: number, c: CheckpointData): { path: string; sha256: string; bytes: number } {
  const buf = encodeCheckpoint(c);
  const path = join(dir, `job-${jobId}`, `round-${String(c.round).padStart(8, '0')}.ckpt`);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, buf);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  return { path, sha256: sha256(buf), bytes: buf.length };
}

/** Read and verify against the hash recorded in the store. */
export function readCheckpointFile(path: string, expectedSha: string): CheckpointData {
  const buf = readFileSync(path);
  const got = sha256(buf);
  if (got !== expectedSha) throw new Error(`checkpoint ${path} hash ${got} does not match the store's ${expectedSha}`);
  return decodeCheckpoint(buf);
}
