import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../coordinator/server';
import { encodeTensor } from '../protocol/frames';
import { PROTOCOL_VERSION } from '../protocol/messages';
import { api, mlpJob, tempDir } from './helpers';
import { RawClient, runHonestWorkerUntilDone } from './raw-client';
import { RawTcpWorker } from './raw-tcp-worker';

const caps = { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 1000 };
const hello = (workerId?: string) => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: caps, workerId });

// Regressions for faults a stranger could cause: each test failed on the coordinator before the foundation fixes.
describe('coordinator faults: nothing a client sends ends the process, drops a worker or stalls a job', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_test_operator';
  const wsUrl = () => `${url.replace('http', 'ws')}/ws`;

  beforeAll(async () => {
    const dir = tempDir('grid-coord-faults-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: true, operatorToken: token },
      ...{ maxFrameBytes: 1 << 20, maxBodyBytes: 1 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error() {} } },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  it('answers a malformed percent-escape with BAD_REQUEST and keeps serving', async () => {
    for (const path of ['/api/jobs/%E0%A4%A', '/assets/%E0%A4%A', '/%']) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('gives a second live connection with the same worker id its own id, and keeps dispatching to the survivor', async () => {
    const first = new RawClient(wsUrl(), token);
    await first.opened();
    first.send(hello('volunteer-tab-0001'));
    expect((await first.next('welcome')).workerId).toBe('volunteer-tab-0001');
    const second = new RawClient(wsUrl(), token);
    await second.opened();
    second.send(hello('volunteer-tab-0001'));
    const secondId = (await second.next('welcome')).workerId;
    expect(secondId).not.toBe('volunteer-tab-0001');
    first.ws.close();
    await first.closed;
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 1, globalBatch: 64 }));
    second.send(JSON.stringify({ type: 'ready', slots: 1 }));
    expect((await second.next('assign')).jobId).toBe(id);
    second.ws.close();
    await api(url, token, `/api/jobs/${id}/cancel`, {});
  });

  it("does not let another token's worker take over a worker id", async () => {
    const volunteer = await api<{ token: string }>(url, token, '/api/tokens', { name: 'v', scopes: ['worker'] });
    const owner = new RawClient(wsUrl(), token);
    await owner.opened();
    owner.send(hello('owned-worker-0001'));
    await owner.next('welcome');
    owner.ws.close();
    await owner.closed;
    const thief = new RawClient(wsUrl(), volunteer.token);
    await thief.opened();
    thief.send(hello('owned-worker-0001'));
    expect((await thief.next('welcome')).workerId).not.toBe('owned-worker-0001');
    thief.ws.close();
  });

  it('frees the lease of a worker closed for TOO_MANY_ERRORS, so honest workers finish the job', async () => {
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 2, globalBatch: 128, shardSize: 64 }));
    const hostile = new RawClient(wsUrl(), token);
    await hostile.opened();
    hostile.send(hello());
    await hostile.next('welcome');
    hostile.send(JSON.stringify({ type: 'ready', slots: 1 }));
    // Each refused result frees the shard and, while the worker is alone, leases it straight back; the socket is
    // closed (quarantine after three refusals, or TOO_MANY_ERRORS) while such a lease is being written.
    for (;;) {
      const a = await Promise.race([hostile.next('assign'), hostile.closed.then(() => undefined)]);
      if (!a) break;
      hostile.send(JSON.stringify({ type: 'result', assignmentId: a.assignmentId, paramsVersion: a.paramsVersion, samples: a.data.count, loss: 1 }));
      hostile.send(encodeTensor({ kind: 'gradient', job: a.jobId, round: a.round, shard: a.shard }, new Float32Array(3), 'f32'));
    }
    expect([1008, 4003]).toContain((await hostile.closed).code);
    const job = await runHonestWorkerUntilDone(url, token, id, 60_000);
    expect(job.round).toBe(2);
  });

  it('fails a job that no worker can compute (every shard handed back), saying why, instead of leasing it forever', async () => {
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 3, globalBatch: 128, shardSize: 64 }));
    const broken = new RawClient(wsUrl(), token);
    await broken.opened();
    broken.send(hello());
    await broken.next('welcome');
    broken.send(JSON.stringify({ type: 'ready', slots: 1 }));
    let handedBack = 0;
    for (;;) {
      const job = await api<{ state: string; error: string | null }>(url, token, `/api/jobs/${id}`);
      if (job.state === 'failed') {
        expect(job.error).toMatch(/20 shards in a row were handed back and none was accepted; the last: ENAMETOOLONG/);
        break;
      }
      const a = await Promise.race([broken.next('assign'), new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
      if (!a) continue;
      broken.send(JSON.stringify({ type: 'release', assignmentId: a.assignmentId, reason: 'ENAMETOOLONG: name too long' }));
      handedBack++;
      expect(handedBack).toBeLessThanOrEqual(20);
    }
    broken.ws.close();
  });

  it('does not cache unknown tokens, and stops an address guessing them', async () => {
    const before = coord.auth.footprint.cachedTokens;
    const codes = new Set<number>();
    for (let i = 0; i < 80; i++) codes.add((await fetch(`${url}/api/jobs`, { headers: { authorization: `Bearer gt_guess_${i}` } })).status);
    expect(coord.auth.footprint.cachedTokens).toBe(before);
    expect([...codes].sort()).toEqual([401, 429]);
  });

  for (const how of ['drops mid-frame', 'sends its frame a byte at a time'] as const)
    it(`reassigns the shard of a worker that ${how}, and the job completes`, async () => {
      const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 2, globalBatch: 64, shardSize: 64, leaseMs: 2000 }));
      const bad = new RawTcpWorker();
      await bad.open(coord.port, token);
      bad.write(RawTcpWorker.frame(hello()));
      await bad.next('welcome');
      bad.write(RawTcpWorker.frame(JSON.stringify({ type: 'ready', slots: 1 })));
      const a = await bad.next('assign');
      bad.write(
        RawTcpWorker.frame(JSON.stringify({ type: 'result', assignmentId: a.assignmentId, paramsVersion: a.paramsVersion, samples: a.data.count, loss: 1 })),
      );
      const frame = RawTcpWorker.frame(
        encodeTensor({ kind: 'gradient', job: a.jobId, round: a.round, shard: a.shard }, new Float32Array(784 * 64 + 64 + 64 * 10 + 10), 'f32'),
      );
      let trickle: NodeJS.Timeout | undefined;
      if (how === 'drops mid-frame') {
        bad.write(frame.subarray(0, frame.length >> 1));
        bad.destroy();
      } else {
        let at = 0;
        trickle = setInterval(() => bad.write(frame.subarray(at, ++at)), 20); // the lease (2 s) runs out long before
      }
      const job = await runHonestWorkerUntilDone(url, token, id, 60_000);
      clearInterval(trickle);
      bad.destroy();
      expect(job.round).toBe(2);
      const results = await coord.store.results(id);
      expect(results.filter((r) => r.accepted).map((r) => `${r.round}/${r.shard}`)).toEqual(['0/0', '1/0']);
      expect(results.some((r) => r.assignment_id === a.assignmentId && r.accepted)).toBe(false);
    });
});
