import { parentPort, workerData } from 'node:worker_threads';
import { GridError } from '../../protocol/errors';
import type { LoadedDataset } from './datasets';
import { type TokenizerChoice, textDatasets } from './text';

// Builds a text data set's splits in a worker thread: training a BPE on a megabyte of text and encoding it take
// seconds, which the coordinator's event loop (heartbeats, /health) must not wait for.
const { name, bytes, blockSize, choice } = workerData as { name: string; bytes: Uint8Array; blockSize: number; choice: TokenizerChoice };
try {
  const { train, validation } = textDatasets(name, bytes, blockSize, choice);
  const buffers = (ds: LoadedDataset) => [ds.labels.buffer, ds.features.buffer, ...ds.chunks.map((c) => c.buffer)] as ArrayBuffer[];
  parentPort?.postMessage({ ok: { train, validation } }, [...new Set([...buffers(train), ...buffers(validation)])]);
} catch (e) {
  const err = e instanceof GridError ? e : new GridError('BAD_REQUEST', String((e as Error)?.message ?? e));
  parentPort?.postMessage({ error: { code: err.code, message: err.message } });
}
