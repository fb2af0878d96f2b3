// Uploads parsed off the event loop: CSV as it streams in, text tokenized, each in a worker thread of its own.
import { Worker } from 'node:worker_threads';
import { type ErrorCode, GridError } from '../../protocol/errors';
import type { CsvTargets } from './csv';
import type { LoadedDataset } from './datasets';
import type { TokenizerChoice } from './text';

/** A text data set's splits built in a worker thread (text-thread.ts), and its text (an archive's unpacked). */
export function textOffThread(name: string, bytes: Uint8Array, blockSize: number, choice: TokenizerChoice) {
  const thread = new Worker(new URL('./text-thread-entry.mjs', import.meta.url), { workerData: { name, bytes, blockSize, choice } });
  type Splits = { train: LoadedDataset; validation: LoadedDataset; text: Uint8Array };
  return new Promise<Splits>((resolve, reject) => {
    thread.once('message', (m: { ok?: Omit<Splits, 'text'> & { unpacked?: Uint8Array }; error?: { code: ErrorCode; message: string } }) => {
      if (m.error || !m.ok) return reject(new GridError(m.error?.code ?? 'INTERNAL', m.error?.message ?? 'no data set from the text thread'));
      const buffers = (ds: LoadedDataset) => ({ ...ds, chunks: ds.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) });
      resolve({ train: buffers(m.ok.train), validation: buffers(m.ok.validation), text: m.ok.unpacked ?? bytes });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => code !== 0 && reject(new GridError('INTERNAL', `text thread exited with ${code}`)));
  });
}

/** Bytes of an upload posted to the parser thread and not yet parsed, at most. */
const MAX_UNPARSED = 4 << 20;

/** Parse CSV chunks in a worker thread as they come (tsx loads the TypeScript there too); stops reading at its first error. */
export async function parseOffThread(name: string, split: string, chunks: AsyncIterable<Uint8Array>, targets?: CsvTargets): Promise<LoadedDataset> {
  const thread = new Worker(new URL('./csv-thread-entry.mjs', import.meta.url), { workerData: { name, split, targets } });
  let inFlight = 0;
  let parsed: (() => void) | undefined;
  const outcome = new Promise<LoadedDataset>((resolve, reject) => {
    thread.on('message', (m: { parsed?: number; ok?: LoadedDataset; error?: { code: ErrorCode; message: string } }) => {
      if (m.parsed !== undefined) {
        inFlight -= m.parsed;
        return parsed?.();
      }
      if (m.error) return reject(new GridError(m.error.code, m.error.message));
      const ds = m.ok as LoadedDataset;
      resolve({ ...ds, chunks: ds.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => code !== 0 && reject(new GridError('INTERNAL', `CSV parser thread exited with ${code}`)));
  });
  // A refusal from the parser ends the upload at once, without waiting for the client's next chunk.
  const refused = outcome.then(
    () => new Promise<never>(() => {}),
    (e) => ({ refused: e as unknown }),
  );
  const it = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([it.next(), refused]);
      if ('refused' in next) throw next.refused;
      if (next.done) break;
      const copy = new Uint8Array(next.value); // transferred: the caller's buffer stays usable
      inFlight += copy.byteLength; // counted before the transfer detaches it
      thread.postMessage({ chunk: copy }, [copy.buffer]);
      // The parser sets the pace: past a few MB unparsed, wait for it (or for its refusal) before reading on.
      while (inFlight > MAX_UNPARSED) {
        const more = await Promise.race([new Promise<void>((r) => (parsed = r)), refused]);
        if (more && 'refused' in more) throw more.refused;
      }
    }
    thread.postMessage({ end: true });
    return await outcome;
  } finally {
    void it.return?.(); // stop reading the body: what still arrives is dropped
    void thread.terminate();
  }
}
