import { parentPort, workerData } from 'node:worker_threads';
import { GridError } from '../../protocol/errors';
import type { LoadedDataset } from './datasets';
import { type TokenizerChoice, textDatasets } from './text';
import { corpusText } from './text-archive';

// Builds a text data set's splits in a worker thread: unpacking an archive, training a BPE on a megabyte of text and
// encoding it take seconds, which the coordinator's event loop (heartbeats, /health) must not wait for.
const { name, bytes, blockSize, choice } = workerData as { name: string; bytes: Uint8Array; blockSize: number; choice: TokenizerChoice };
try {
  const text = corpusText(bytes);
  const { train, validation } = textDatasets(name, text, blockSize, choice);
  const buffers = (ds: LoadedDataset) => [ds.labels.buffer, ds.features.buffer, ...ds.chunks.map((c) => c.buffer)] as ArrayBuffer[];
  // An archive's text goes back (it is what is kept); plain text is what the caller holds already.
  const unpacked = text === bytes ? undefined : text;
  const moved = [...buffers(train), ...buffers(validation), ...(unpacked ? [unpacked.buffer as ArrayBuffer] : [])];
  parentPort?.postMessage({ ok: { train, validation, unpacked } }, [...new Set(moved)]);
} catch (e) {
  const err = e instanceof GridError ? e : new GridError('BAD_REQUEST', String((e as Error)?.message ?? e));
  parentPort?.postMessage({ error: { code: err.code, message: err.message } });
}
