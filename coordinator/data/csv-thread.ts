import { parentPort, workerData } from 'node:worker_threads';
import { GridError } from '../../protocol/errors';
import { CsvParser, type CsvTargets } from './csv';

// Parses one CSV data set in a worker thread as its chunks arrive, so a large upload never blocks the
// coordinator's event loop and is never held whole. The first error is reported at once; the rest is ignored.
const { name, split, targets } = workerData as { name: string; split: string; targets?: CsvTargets };
const parser = new CsvParser(targets);
let failed = false;

parentPort?.on('message', (m: { chunk?: Uint8Array; end?: true }) => {
  if (failed) return;
  try {
    if (m.chunk) {
      parser.push(m.chunk);
      parentPort?.postMessage({ parsed: m.chunk.byteLength }); // the sender keeps only a few chunks in flight
    }
    if (!m.end) return;
    const ds = parser.finish(name, split);
    const transfer = [ds.labels.buffer, ds.features.buffer, ...ds.chunks.map((c) => c.buffer)] as ArrayBuffer[];
    parentPort?.postMessage({ ok: ds }, [...new Set(transfer)]);
    parentPort?.close();
  } catch (e) {
    failed = true;
    const err = e instanceof GridError ? e : new GridError('BAD_REQUEST', String((e as Error)?.message ?? e));
    parentPort?.postMessage({ error: { code: err.code, message: err.message } });
    parentPort?.close();
  }
});
