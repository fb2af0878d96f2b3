import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, startCoordinatorProcess, tempDir } from './helpers';

/** The coordinator's resident memory, as its own /metrics reports it (prom-client's process metrics). */
async function rssMb(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\d+)/m.exec(text);
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(m[1]) / 2 ** 20;
}

/**
 * POST `total` bytes made of `piece` repeated, streamed as a client would, and return the status and code the
 * coordinator answered with (it may answer and close before the body is all sent).
 */
function streamUpload(url: string, token: string, path: string, piece: string, total: number): Promise<{ status: number; code?: string; sentMb: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' } });
    const chunk = Buffer.from(piece.repeat(Math.ceil((1 << 20) / piece.length)));
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body || '{}') as { error?: { code: string } }).error?.code, sentMb: sent / 2 ** 20 }),
      );
    });
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

// The upload rows of the trust matrix, against a real coordinator process: an endless CSV line and a row of a hundred
// million cells are refused at the first byte past their bound, with the coordinator's memory flat.
describe('uploads refused with memory flat', () => {
  let coord: Proc & { url: string; token: string };
  afterAll(() => coord?.child.kill('SIGKILL'));

  it('refuses a 200 MB line without a newline and a 1e8-cell row, growing the coordinator by under 100 MB', async () => {
    coord = await startCoordinatorProcess(tempDir('grid-upload-mem-'));
    const before = await rssMb(coord.url);
    const line = await streamUpload(coord.url, coord.token, '/api/datasets/endless/train', '1234567890', 200 << 20);
    const cells = await streamUpload(coord.url, coord.token, '/api/datasets/wide/train', '1,', 200 << 20);
    const after = await rssMb(coord.url);
    console.log(
      `uploads: endless line refused ${line.status} ${line.code} after ${line.sentMb.toFixed(0)} MB sent; ` +
        `1e8-cell row refused ${cells.status} ${cells.code} after ${cells.sentMb.toFixed(0)} MB; coordinator RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MB`,
    );
    for (const r of [line, cells]) expect(r).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(after - before).toBeLessThan(100);
    const listed = (await (await fetch(`${coord.url}/api/datasets`, { headers: { authorization: `Bearer ${coord.token}` } })).json()) as { name: string }[];
    expect(listed.map((d) => d.name)).not.toContain('endless'); // nothing half-made was registered
  }, 120_000);
});
