import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../coordinator/server';
import { encodeFrame, encodeTensor } from '../protocol/frames';
import { PROTOCOL_VERSION } from '../protocol/messages';
import { api, mlpJob, tempDir } from './helpers';
import { RawClient, runHonestWorkerUntilDone } from './raw-client';

const MAX_FRAME = 1 << 20;
const caps = { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 1000 };

describe('protocol faults: every bad frame gets its code and the job is unaffected', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  let token: string;
  let jobId: number;
  const params = 784 * 64 + 64 + 64 * 10 + 10;

  beforeAll(async () => {
    const dir = tempDir('grid-faults-');
    coord = await startCoordinator({
      port: 0,
      host: '127.0.0.1',
      databaseUrl: ':memory:',
      dataDir: dir,
      webDir: join(dir, 'web'),
      enrolment: true,
      operatorToken: 'gt_test_operator',
      maxFrameBytes: MAX_FRAME,
      maxBodyBytes: 1 << 20,
      heartbeatMs: 5000,
      log: { debug() {}, info() {}, warn() {}, error: console.error },
    });
    url = `http://127.0.0.1:${coord.port}`;
    token = 'gt_test_operator';
    jobId = (await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 3, globalBatch: 128, evalEvery: 0 }))).id;
  });
  afterAll(() => coord?.close());

  const wsUrl = () => `${url.replace('http', 'ws')}/ws`;

  it('refuses a bad token at the upgrade', async () => {
    const c = new RawClient(wsUrl(), 'gt_nope');
    await expect(c.opened()).rejects.toThrow(/401/);
  });

  it('refuses a wrong protocol version and closes', async () => {
    const c = new RawClient(wsUrl(), token);
    await c.opened();
    c.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION + 1, capabilities: caps }));
    await c.error('VERSION_MISMATCH');
    expect((await c.closed).code).toBe(1002);
  });

  it('closes the socket on a frame over the size limit, before buffering it', async () => {
    const c = new RawClient(wsUrl(), token);
    await c.opened();
    c.send(new Uint8Array(MAX_FRAME + 1024));
    // uWS drops the connection (1006, no close frame) as soon as the frame header announces too many bytes.
    expect([1006, 1009]).toContain((await c.closed).code);
  });

  it('answers malformed, truncated, mis-sized and NaN frames with stable codes, then disconnects', async () => {
    const c = new RawClient(wsUrl(), token);
    await c.opened();
    c.send(JSON.stringify({ type: 'ready', slots: 1 }));
    await c.error('NOT_REGISTERED');
    c.send('not json{');
    await c.error('BAD_JSON');
    c.send(JSON.stringify({ type: 'bogus' }));
    await c.error('UNKNOWN_TYPE');
    c.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: { ...caps, cores: 'two' } }));
    await c.error('BAD_MESSAGE');
    c.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: caps }));
    await c.next('welcome');
    c.send(JSON.stringify({ type: 'ready', slots: 1 }));

    let a = await c.next('assign');
    const header = { kind: 'gradient' as const, job: a.jobId, round: a.round, shard: a.shard };
    const result = (id = a.assignmentId) =>
      c.send(JSON.stringify({ type: 'result', assignmentId: id, paramsVersion: a.paramsVersion, samples: a.data.count, loss: 1 }));
    result();
    c.send(new Uint8Array(10));
    await c.error('BAD_FRAME');
    result();
    c.send(encodeFrame({ ...header, dtype: 'f32', count: params, blockSize: 0 }, new Uint8Array(16)));
    await c.error('BAD_LENGTH');
    result();
    c.send(encodeTensor(header, new Float32Array(10), 'f32'));
    expect((await c.error('WRONG_SIZE')).assignmentId).toBe(a.assignmentId);

    a = await c.next('assign'); // the refused shard came back to the pool
    const nan = new Float32Array(params);
    nan[123] = Number.NaN;
    result();
    c.send(encodeTensor({ ...header, round: a.round, shard: a.shard }, nan, 'f32'));
    await c.error('NON_FINITE');

    a = await c.next('assign');
    result(999_999);
    c.send(encodeTensor({ ...header, round: a.round, shard: a.shard }, new Float32Array(params), 'f32'));
    await c.error('UNKNOWN_ASSIGNMENT');
    result();
    c.send(encodeTensor({ ...header, round: a.round + 7, shard: a.shard }, new Float32Array(params), 'f32'));
    await c.error('BAD_FRAME');
    await c.error('TOO_MANY_ERRORS');
    expect((await c.closed).code).toBe(1008);
  });

  it('the job still completes with a well-behaved worker, and the refusals are on record', async () => {
    const job = await runHonestWorkerUntilDone(url, token, jobId);
    expect(job.round).toBe(3);
    const results = await coord.store.results(jobId);
    const accepted = results.filter((r) => r.accepted);
    expect(accepted.length).toBe(3 * 2);
    for (let round = 0; round < 3; round++)
      expect(
        accepted
          .filter((r) => r.round === round)
          .map((r) => r.shard)
          .sort(),
      ).toEqual([0, 1]);
    expect(
      results
        .filter((r) => !r.accepted)
        .map((r) => r.reason)
        .sort(),
    ).toEqual(['NON_FINITE', 'WRONG_SIZE']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const code of ['BAD_JSON', 'BAD_LENGTH', 'NON_FINITE', 'UNKNOWN_ASSIGNMENT']) expect(metrics).toContain(`grid_ws_refusals_total{code="${code}"}`);
  });
});
