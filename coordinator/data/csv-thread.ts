import { parentPort, workerData } from 'node:worker_threads';
import { GridError } from '../../protocol/errors';
import { parseCsvDataset } from './datasets';

// Parses one CSV upload in a worker thread, so a large upload never blocks the coordinator's event loop.
const { name, split, bytes } = workerData as { name: string; split: string; bytes: Uint8Array };
try {
  const ds = parseCsvDataset(name, split, Buffer.from(bytes).toString('utf8'));
  const transfer = [ds.labels.buffer, ds.features.buffer, ...ds.chunks.map((c) => c.buffer)] as ArrayBuffer[];
  parentPort?.postMessage({ ok: ds }, [...new Set(transfer)]);
} catch (e) {
  const err = e instanceof GridError ? e : new GridError('BAD_REQUEST', String((e as Error)?.message ?? e));
  parentPort?.postMessage({ error: { code: err.code, message: err.message } });
}
