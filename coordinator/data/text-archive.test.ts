import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { createTar } from 'nanotar';
import { describe, expect, it } from 'vitest';
import { corpusText } from './text-archive';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

// Out of path order, with what is not a corpus beside the .txt files: a README, macOS's resource forks, a folder.
const files: Record<string, Uint8Array> = {
  'books/b.txt': utf8('second book, no final newline'),
  'README.md': utf8('# not text of the corpus'),
  'a.TXT': utf8('first book\n'),
  '__MACOSX/books/._b.txt': Uint8Array.of(0, 5, 22, 7, 0xff),
};
const CORPUS = 'first book\nsecond book, no final newline\n';

const tar = () => createTar(Object.entries(files).map(([name, data]) => ({ name, data })));

describe('text uploads as archives', () => {
  it('takes the .txt files of a zip, a tar and a gzipped tar, in path order, each ended by a newline', () => {
    expect(text(corpusText(zipSync(files)))).toBe(CORPUS);
    expect(text(corpusText(tar()))).toBe(CORPUS);
    expect(text(corpusText(gzipSync(tar())))).toBe(CORPUS);
    // A tar inside a larger buffer (as a Node Buffer of a request body often is) is read from its own start.
    const padded = new Uint8Array(tar().byteLength + 100);
    padded.set(tar(), 100);
    expect(text(corpusText(padded.subarray(100)))).toBe(CORPUS);
  });

  it('passes plain text through untouched, and unpacks gzipped text', () => {
    const plain = utf8('just text');
    expect(corpusText(plain)).toBe(plain);
    expect(text(corpusText(gzipSync(plain)))).toBe('just text');
  });

  it('refuses a bomb by what it would unpack to, before unpacking it', () => {
    const zeros = new Uint8Array(4 << 20); // 4 MB that deflate to a few kB
    const zip = zipSync({ 'big.txt': zeros, 'small.txt': utf8('x') }, { level: 9 });
    expect(zip.byteLength).toBeLessThan(64 << 10);
    expect(() => corpusText(zip, 1 << 20)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() => corpusText(gzipSync(zeros), 1 << 20)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(corpusText(zip, 8 << 20).byteLength).toBe((4 << 20) + 3); // under the bound it is read, each file newline-ended
    // A zip that understates an entry's size (in both headers) is read only as far as it says: memory stays bounded.
    const liar = zipSync({ 'big.txt': zeros }, { level: 9 });
    const view = new DataView(liar.buffer, liar.byteOffset, liar.byteLength);
    view.setUint32(22, 10, true); // the local header's uncompressed size
    for (let i = 0; i < liar.byteLength - 4; i++) if (view.getUint32(i, true) === 0x02014b50) view.setUint32(i + 24, 10, true); // the central one's
    expect(corpusText(liar, 1 << 20).byteLength).toBe(11);
  });

  it('refuses an entry that is not UTF-8 by name, an archive without text, and a broken archive', () => {
    const badEntry = zipSync({ 'ok.txt': utf8('fine'), 'latin1.txt': Uint8Array.of(0x63, 0x61, 0x66, 0xe9) });
    expect(() => corpusText(badEntry)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'archive entry latin1.txt is not valid UTF-8' }));
    expect(() => corpusText(zipSync({ 'notes.md': utf8('no') }))).toThrow('the archive holds no .txt files');
    const zip = zipSync(files);
    expect(() => corpusText(zip.subarray(0, zip.byteLength - 30))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    const gz = gzipSync(tar());
    expect(() => corpusText(gz.subarray(0, gz.byteLength >> 1))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
