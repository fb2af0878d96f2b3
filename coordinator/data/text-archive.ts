import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { parseTar } from 'nanotar';
import { GridError } from '../../protocol/errors';

/** The most text an upload may unpack to (the coordinator's default body limit: a plain text upload's own bound). */
export const MAX_CORPUS_BYTES = 256 << 20;

const bad = (message: string) => new GridError('BAD_REQUEST', message);
const tooLarge = (maxBytes: number) => new GridError('PAYLOAD_TOO_LARGE', `the archive's text is over ${maxBytes} bytes once unpacked`);

const isZip = (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const isGzip = (b: Uint8Array) => b[0] === 0x1f && b[1] === 0x8b;
const isTar = (b: Uint8Array) => b.length >= 512 && String.fromCharCode(...b.subarray(257, 262)) === 'ustar';

/** The entries a corpus is made of: `.txt` files, not the resource forks macOS zips leave beside them. */
const isText = (path: string) => /\.txt$/i.test(path) && !path.split('/').some((part) => part === '__MACOSX' || part.startsWith('._'));

/**
 * An upload's text: the bytes themselves, or the `.txt` files of a zip, a tar or a gzipped tar, in path order, each
 * ended by a newline. What an archive unpacks to is bounded by `maxBytes` before it is unpacked (a zip's declared
 * sizes, which also size its output buffers; gzip stops at the bound), so a small bomb costs nothing. Refused: an
 * archive without `.txt` files, an entry that is not UTF-8 (named), a broken archive.
 */
export function corpusText(bytes: Uint8Array, maxBytes = MAX_CORPUS_BYTES): Uint8Array {
  if (isZip(bytes)) return joined(zipEntries(bytes, maxBytes));
  if (isGzip(bytes)) {
    const unpacked = gunzip(bytes, maxBytes);
    return isTar(unpacked) ? joined(tarEntries(unpacked)) : unpacked;
  }
  return isTar(bytes) ? joined(tarEntries(bytes)) : bytes;
}

function zipEntries(bytes: Uint8Array, maxBytes: number): [string, Uint8Array][] {
  let total = 0;
  try {
    const files = unzipSync(bytes, {
      filter: (f) => {
        if (!isText(f.name)) return false;
        total += f.compression === 0 ? f.size : f.originalSize;
        if (total > maxBytes) throw tooLarge(maxBytes);
        return true;
      },
    });
    return Object.entries(files);
  } catch (e) {
    throw e instanceof GridError ? e : bad(`the zip cannot be read: ${(e as Error).message}`);
  }
}

function tarEntries(bytes: Uint8Array): [string, Uint8Array][] {
  // nanotar reads `bytes.buffer` from its start: a view into a larger buffer is copied out first.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  try {
    const files = parseTar(own, { filter: (f) => f.type === 'file' && isText(f.name) });
    return files.map((f) => [f.name, f.data ?? new Uint8Array()]);
  } catch (e) {
    throw bad(`the tar cannot be read: ${(e as Error).message}`);
  }
}

function gunzip(bytes: Uint8Array, maxBytes: number): Uint8Array {
  try {
    const out = gunzipSync(bytes, { maxOutputLength: maxBytes });
    return out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out); // a small one lies in Node's shared pool
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw bad(`the gzip cannot be read: ${(e as Error).message}`);
  }
}

function joined(entries: [string, Uint8Array][]): Uint8Array {
  if (!entries.length) throw bad('the archive holds no .txt files');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const parts = entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, data]) => {
      try {
        const text = utf8.decode(data);
        return text.endsWith('\n') ? text : `${text}\n`;
      } catch {
        throw bad(`archive entry ${name} is not valid UTF-8`);
      }
    });
  return new TextEncoder().encode(parts.join(''));
}
