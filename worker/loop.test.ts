import { describe, expect, it, vi } from 'vitest';
import { decodeFrame, decodeTensor } from '../protocol/frames';
import { parameterCount } from '../protocol/model';
import { stepPublished } from '../protocol/params-delta';
import { type WorkerEvent, WorkerLoop } from './loop';
import { Readahead } from './readahead';
import { assignment, MODEL, scriptedWorker, settled, toyCoordinator } from './testing.fixtures';

type Seen = Record<string, unknown>;

/** Wait (in real time: the CPU engine computes for real) until `events` has one of `type` (and `also`). */
async function eventually(events: WorkerEvent[], type: string, also: (e: Seen) => boolean = () => true) {
  const found = () => (events as unknown as Seen[]).find((e) => e.type === type && also(e));
  for (let i = 0; i < 500 && !found(); i++) await new Promise((r) => setTimeout(r, 10));
  return found() as Seen;
}

/** A loop against the toy coordinator, started, on its scripted socket once open. */
async function openLoop(over: Parameters<typeof scriptedWorker>[1] = {}) {
  const coord = await toyCoordinator();
  const { options, sockets, clock, events } = scriptedWorker(coord.fetch, over);
  const loop = new WorkerLoop(options);
  loop.start();
  const ws = sockets[0];
  ws.open();
  return { coord, ws, clock, events, loop };
}

describe('worker loop against a scripted socket and clock', () => {
  it('says hello, reports its slots once welcomed, and heartbeats at the pace the coordinator asks', async () => {
    const { fetch } = await toyCoordinator();
    const { options, sockets, clock } = scriptedWorker(fetch, { workerId: 'worker-0001' });
    new WorkerLoop(options).start();
    const ws = sockets[0];
    expect(ws.url).toBe('ws://coord-a/ws');
    ws.open();
    expect(ws.messages()[0]).toMatchObject({ type: 'hello', workerId: 'worker-0001' });
    ws.deliver({ type: 'welcome', protocol: 1, workerId: 'worker-0002', heartbeatMs: 2000 });
    expect(ws.messages().at(-1)).toEqual({ type: 'ready', slots: 1 });
    await clock.advance(4000);
    expect(ws.messages().filter((m) => m.type === 'heartbeat')).toHaveLength(2);
  });

  it('reconnects after a drop, to the next coordinator, after a backoff; a quarantine close stops it for good', async () => {
    const { fetch } = await toyCoordinator();
    const { options, sockets, clock, events } = scriptedWorker(fetch, {
      coordinator: ['http://coord-a', 'http://coord-b'],
      backoff: { baseMs: 1000, maxMs: 8000 },
    });
    new WorkerLoop(options).start();
    sockets[0].open();
    sockets[0].drop(1006);
    const gone = (await eventually(events, 'disconnected')) as { retryInMs: number };
    expect(gone.retryInMs).toBeGreaterThanOrEqual(500);
    expect(gone.retryInMs).toBeLessThanOrEqual(1500);
    await clock.advance(gone.retryInMs - 1);
    expect(sockets).toHaveLength(1); // not before its backoff
    await clock.advance(2); // the delay is rounded in the event
    expect(sockets.map((s) => s.url)).toEqual(['ws://coord-a/ws', 'ws://coord-b/ws']);
    sockets[1].open();
    sockets[1].drop(4003, 'QUARANTINED');
    await clock.advance(600_000);
    expect(sockets).toHaveLength(2);
    expect(events.at(-1)).toEqual({ type: 'state', state: 'stopped' });
  });

  it('computes an assignment and sends its result message, then its gradient frame for that shard', async () => {
    const { ws, events } = await openLoop();
    ws.deliver(assignment(7, { shard: 3 }));
    await eventually(events, 'computed');
    expect(ws.messages().find((m) => m.type === 'result')).toMatchObject({ assignmentId: 7, samples: 4, paramsVersion: 0 });
    const frame = decodeFrame(ws.frames()[0]);
    expect(frame).toMatchObject({ kind: 'gradient', job: 1, round: 0, shard: 3, count: parameterCount(MODEL) });
  });

  it('tells the runner a result is sent once its frame has gone, so the next batch is read ahead then', async () => {
    let framesAtCall = -1;
    let frames = () => 0;
    const done = vi.spyOn(Readahead.prototype, 'done').mockImplementation(() => {
      framesAtCall = frames();
    });
    try {
      const { ws, events } = await openLoop();
      frames = () => ws.frames().length;
      const a = assignment(7, { shard: 3 });
      ws.deliver(a);
      await eventually(events, 'computed');
      expect(done.mock.calls.map(([ref]) => ref)).toEqual([a.data]);
      expect(framesAtCall).toBe(1);
    } finally {
      done.mockRestore();
    }
  });

  it('drops a shard whose lease was revoked while it computed: nothing is sent for it', async () => {
    const { coord, ws, events } = await openLoop();
    const release = coord.hold();
    ws.deliver(assignment(8));
    for (let i = 0; i < 100 && !coord.requests.length; i++) await settled();
    await settled(); // its downloads start as it is queued; let the loop take it up
    ws.deliver({ type: 'revoke', assignmentId: 8, reason: 'backed up' });
    release();
    const dropped = await eventually(events, 'dropped', (e) => e.reason === 'lease ended while computing');
    expect(dropped).toMatchObject({ assignmentId: 8 });
    expect(ws.messages().some((m) => m.type === 'result')).toBe(false);
    expect(ws.frames()).toHaveLength(0);
  });

  it('hands back a shard over its bandwidth cap and takes work again only when the hour has room', async () => {
    const { ws, clock, events } = await openLoop({ maxBytesPerHour: 1000 });
    ws.deliver({ type: 'welcome', protocol: 1, workerId: 'w-00000001', heartbeatMs: 60_000 });
    ws.deliver(assignment(9));
    const budget = await eventually(events, 'budget');
    expect(budget.resumeInMs).toBe(3_600_000); // more than a whole hour's cap: not until the cap changes, at most an hour
    expect(ws.messages().slice(-2)).toEqual([
      { type: 'release', assignmentId: 9, reason: expect.stringContaining('bandwidth cap') },
      { type: 'ready', slots: 0 },
    ]);
    await clock.advance(3_600_000);
    expect(ws.messages().at(-1)).toEqual({ type: 'ready', slots: 1 });
  });

  it('hands back a shard it cannot compute, and backs off before the next', async () => {
    const { ws, clock, events } = await openLoop();
    ws.deliver(assignment(10, { paramsUrl: '/api/jobs/1/params?version=0&fail' }));
    ws.deliver(assignment(11));
    const refused = await eventually(events, 'refused');
    expect(refused).toMatchObject({ code: 'WORKER_ERROR', assignmentId: 10 });
    expect(ws.messages().find((m) => m.type === 'release')).toMatchObject({ assignmentId: 10 });
    await settled();
    expect(events.some((e) => e.type === 'computed')).toBe(false); // still backing off
    await clock.advance(1000);
    await eventually(events, 'computed');
    expect(ws.messages().find((m) => m.type === 'result')).toMatchObject({ assignmentId: 11 });
  });

  it('computes on parameters pushed over the socket without fetching them, a delta on top of the version before', async () => {
    const { coord, ws, events, loop } = await openLoop();
    ws.push(coord.params);
    ws.deliver(assignment(12));
    await eventually(events, 'computed');
    const shadow = decodeTensor(decodeFrame(coord.params));
    ws.push(
      stepPublished(
        shadow,
        shadow.map((v, i) => v + i * 1e-3),
        1,
        1,
      ),
    );
    ws.deliver(assignment(13, { paramsVersion: 1, paramsUrl: '/api/jobs/1/params?version=1' }));
    await eventually(events, 'computed', (e) => e.ms !== undefined && ws.messages().filter((m) => m.type === 'result').length === 2);
    expect(coord.requests.filter((u) => u.includes('/params'))).toEqual([]);
    expect(ws.messages().filter((m) => m.type === 'result')).toMatchObject([
      { assignmentId: 12, paramsVersion: 0 },
      { assignmentId: 13, paramsVersion: 1 },
    ]);
    expect(loop.bytesReceived).toBeGreaterThan(coord.params.byteLength);
  });

  it('reports a pushed delta that does not check out and fetches a full copy for the assignment instead', async () => {
    const { coord, ws, events } = await openLoop();
    ws.push(coord.params);
    const shadow = decodeTensor(decodeFrame(coord.params)).fill(0.5); // not what the worker holds
    const delta = stepPublished(
      shadow,
      shadow.map((v) => v + 1e-2),
      1,
      1,
    );
    ws.push(delta);
    expect(await eventually(events, 'refused')).toMatchObject({ code: 'BAD_FRAME', message: expect.stringContaining('do not match') });
    ws.push(delta.subarray(0, 20));
    expect(await eventually(events, 'refused', (e) => e.message !== undefined && String(e.message).includes('header'))).toMatchObject({ code: 'BAD_FRAME' });
    ws.deliver(assignment(14, { paramsVersion: 1, paramsUrl: '/api/jobs/1/params?version=1' }));
    await eventually(events, 'computed');
    expect(coord.requests.filter((u) => u.includes('/params'))).toEqual([expect.stringContaining('/api/jobs/1/params?version=1')]);
  });

  it('gives up a shard revoked while the loop checked it against the cap, instead of computing it', async () => {
    const { ws, events } = await openLoop({ maxBytesPerHour: 1e9 });
    ws.deliver(assignment(15));
    ws.deliver({ type: 'revoke', assignmentId: 15, reason: 'backed up' }); // while the cost check awaits
    ws.deliver(assignment(16));
    await eventually(events, 'computed');
    expect(events.filter((e) => e.type === 'computed')).toHaveLength(1);
    expect(ws.messages().filter((m) => m.type === 'result')).toMatchObject([{ assignmentId: 16 }]);
  });

  it('starts fetching what a queued shard needs while the shard ahead of it is still waiting or computing', async () => {
    const { coord, ws, events } = await openLoop();
    const release = coord.hold();
    ws.deliver(assignment(17));
    ws.deliver(assignment(18, { paramsVersion: 1, paramsUrl: '/api/jobs/1/params?version=1' }));
    await settled();
    expect(coord.requests.filter((u) => u.endsWith('/api/jobs/1/params?version=1'))).toHaveLength(1);
    expect(ws.messages().filter((m) => m.type === 'result')).toEqual([]);
    release();
    await eventually(events, 'computed', () => ws.messages().filter((m) => m.type === 'result').length === 2);
    expect(ws.messages().filter((m) => m.type === 'result')).toMatchObject([{ assignmentId: 17 }, { assignmentId: 18, paramsVersion: 1 }]);
  });
});
