import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCoordinator } from '../coordinator/server';
import { PROTOCOL_VERSION, WS_PROTOCOL } from '../protocol/messages';
import { api, mlpJob, tempDir } from './helpers';
import { RawClient } from './raw-client';

const caps = { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 1000 };

/**
 * POST a CSV chunk by chunk with node:http, which (unlike fetch) sees a response that arrives before the body is
 * finished. After the chunk holding row `badRow` it waits up to 20 s (a loaded machine may take seconds to start
 * the parser thread) for the server's answer, and stops sending if it came; a server that waited for the whole body
 * gets all of it, over the limit.
 */
function uploadUntilAnswered(url: string, path: string, token: string, lines: AsyncIterable<string>, badRow: number) {
  return new Promise<{ status: number; body: string; whileStreaming: boolean }>((resolve, reject) => {
    let answered = false;
    let streaming = true;
    const req = request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      const whileStreaming = streaming;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, whileStreaming }));
    });
    req.on('error', (e) => (answered ? undefined : reject(e)));
    void (async () => {
      let sent = 0;
      for await (const chunk of lines) {
        if (answered) break;
        req.write(chunk);
        sent += 1000;
        for (let t = 0; sent > badRow && sent - 1000 <= badRow && !answered && t < 200; t++) await new Promise((r) => setTimeout(r, 100));
      }
      streaming = false;
      req.end();
    })();
  });
}
const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: caps });

// Ownership, secrets and limits: what one token may see, do and hold.
describe('ownership and limits', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const operator = 'gt_owner_operator';
  const status = async (path: string, token: string, init: RequestInit = {}) =>
    (await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } })).status;
  const token = async (scopes: string[], extra: Record<string, unknown> = {}) =>
    api<{ id: number; token: string }>(url, operator, '/api/tokens', { name: scopes.join('+'), scopes, ...extra });
  const wsUrl = () => `${url.replace('http', 'ws')}/ws`;

  let dir: string;

  beforeAll(async () => {
    dir = tempDir('grid-owner-');
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>grid</title>');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: true, operatorToken: operator },
      ...{ maxFrameBytes: 1 << 20, maxBodyBytes: 1 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error() {} } },
      limits: { maxParams: 1_000_000, maxShardsPerRound: 64, maxSocketsPerToken: 2, enrolPerMinute: 5, helloTimeoutMs: 3000, enrolProofBits: 0 },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  it('takes a CSV upload as a stream: chunked, refused past the limit or at its first bad line, leaving nothing', async () => {
    const alice = await token(['researcher']);
    const upload = (name: string, lines: AsyncIterable<string>) =>
      fetch(`${url}/api/datasets/${name}/train`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}` },
        body: ReadableStream.from(
          (async function* () {
            for await (const l of lines) yield new TextEncoder().encode(l);
          })(),
        ),
        duplex: 'half',
      } as RequestInit);
    /** `n` rows in chunks of 1,000; row `bad` is malformed. */
    const rows = async function* (n: number, bad = -1) {
      for (let i = 0; i < n; i += 1000)
        yield Array.from({ length: 1000 }, (_, k) => (i + k === bad ? `${i + k},x,1\n` : `${(i + k) % 7},${(i + k) % 5},${(i + k) % 3}\n`)).join('');
    };
    const ok = await upload('streamed', rows(20_000));
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ samples: 20_000, classes: 3 });
    const big = await upload('toobig', rows(200_000)); // about 1.4 MB, no Content-Length: refused as it streams
    expect([big.status, ((await big.json()) as { error: { code: string } }).error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    // Over the size limit in all, but answered at its bad line while the body is still open: parsed as it arrives.
    const bad = await uploadUntilAnswered(url, '/api/datasets/broken/train', alice.token, rows(200_000, 30_000), 30_000);
    expect(bad.status).toBe(400);
    expect(bad.whileStreaming).toBe(true);
    expect(JSON.parse(bad.body).error.message).toMatch(/line 30001 column 2/);
    const names = (await api<{ name: string }[]>(url, operator, '/api/datasets')).map((d) => d.name);
    expect(names).toContain('streamed');
    expect(names).not.toContain('toobig');
    expect(names).not.toContain('broken');
    expect(readdirSync(join(dir, 'datasets')).sort()).toEqual(['streamed.train.csv']); // no spooled part left
  });

  it('lets a researcher see and control only their own jobs and data sets; an operator sees all', async () => {
    const alice = await token(['researcher']);
    const bob = await token(['researcher']);
    const { id } = await api<{ id: number }>(url, alice.token, '/api/jobs', mlpJob({ rounds: 1 }));
    expect(await status(`/api/jobs/${id}`, alice.token)).toBe(200);
    expect(await status(`/api/jobs/${id}`, bob.token)).toBe(404);
    expect(await status(`/api/jobs/${id}/metrics`, bob.token)).toBe(404);
    expect(await status(`/api/jobs/${id}/checkpoints`, bob.token)).toBe(404);
    expect(await status(`/api/jobs/${id}/pause`, bob.token, { method: 'POST' })).toBe(404);
    expect((await api<{ id: number }[]>(url, bob.token, '/api/jobs')).map((j) => j.id)).not.toContain(id);
    expect((await api<{ id: number }[]>(url, operator, '/api/jobs')).map((j) => j.id)).toContain(id);
    expect(await status(`/api/jobs/${id}/cancel`, operator, { method: 'POST' })).toBe(200);
    expect(await status('/api/datasets/shared/train', alice.token, { method: 'POST', body: '1,2,0\n3,4,1\n' })).toBe(201);
    expect(await status('/api/datasets/shared/train', bob.token, { method: 'POST', body: '9,9,0\n9,9,1\n' })).toBe(403);
    expect(await status('/api/datasets/shared/train', alice.token, { method: 'POST', body: '5,6,0\n7,8,1\n' })).toBe(201);
  });

  it('refuses specs over the operator limits at once, before allocating anything', async () => {
    const t0 = performance.now();
    const huge = await fetch(`${url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}` },
      body: JSON.stringify(mlpJob({ model: { kind: 'mlp', layers: [784, 16384, 16384, 10] } })),
    });
    expect(huge.status).toBe(400);
    expect(await huge.json()).toMatchObject({ error: { code: 'BAD_JOB_SPEC', message: expect.stringMatching(/at most 1000000/) } });
    const shards = await fetch(`${url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}` },
      body: JSON.stringify(mlpJob({ globalBatch: 1 << 20, shardSize: 1 })),
    });
    expect(await shards.json()).toMatchObject({ error: { code: 'BAD_JOB_SPEC', message: expect.stringMatching(/shards per round/) } });
    // 1e5 epochs of batch 1: six billion rounds, refused by count (the trust review's spec was accepted before).
    const endless = await fetch(`${url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}` },
      body: JSON.stringify(mlpJob({ rounds: undefined, epochs: 100_000, globalBatch: 1, shardSize: 1 })),
    });
    expect(await endless.json()).toMatchObject({ error: { code: 'BAD_JOB_SPEC', message: expect.stringMatching(/6000000000 rounds; .* at most 10000000/) } });
    expect(performance.now() - t0).toBeLessThan(5000); // refused without building the model; generous for a loaded CI machine
  });

  it('takes a token from a header or a WebSocket subprotocol, never from a URL', async () => {
    const worker = await token(['worker']);
    expect(await status(`/api/datasets?token=${worker.token}`, 'none')).toBe(401);
    expect(await status('/api/datasets', worker.token)).toBe(200);
    const inUrl = new WebSocket(`${wsUrl()}?token=${worker.token}`);
    const refused = await new Promise<number>((r) => inUrl.once('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
    expect(refused).toBe(401);
    const c = new RawClient(wsUrl(), worker.token);
    await c.opened();
    expect(c.ws.protocol).toBe(WS_PROTOCOL); // the answer does not echo the offer that carries the token
    c.send(hello);
    await c.next('welcome');
    c.ws.close();
  });

  it('closes a connection that never says hello, and keeps one that does', async () => {
    const worker = await token(['worker']);
    const silent = new RawClient(wsUrl(), worker.token);
    const talker = new RawClient(wsUrl(), worker.token);
    await Promise.all([silent.opened(), talker.opened()]);
    talker.send(hello);
    await talker.next('welcome');
    await silent.error('HELLO_TIMEOUT');
    expect(await silent.closed).toEqual({ code: 1008, reason: 'HELLO_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 300));
    expect(talker.ws.readyState).toBe(talker.ws.OPEN); // past the deadline, still connected
    talker.ws.close();
  });

  it('names every JSON field in camelCase, in every listing', async () => {
    const { id } = await api<{ id: number }>(url, operator, '/api/jobs', mlpJob({ rounds: 1 }));
    const snake: string[] = [];
    const walk = (v: unknown, at: string) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k.includes('_')) snake.push(`${at}.${k}`);
          walk(x, `${at}.${k}`);
        }
    };
    for (const path of [
      '/api/jobs',
      `/api/jobs/${id}`,
      `/api/jobs/${id}/metrics`,
      `/api/jobs/${id}/checkpoints`,
      '/api/workers',
      '/api/tokens',
      '/api/datasets',
    ])
      walk(await api(url, operator, path), path);
    expect(snake).toEqual([]);
  });

  it('publishes an OpenAPI 3.1 document generated from the routes and the validators the server uses', async () => {
    const doc = (await (await fetch(`${url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { 'x-scope'?: string; parameters?: { name: string }[]; requestBody?: unknown }>>;
      components: { schemas: { JobSpec: { oneOf: { properties: Record<string, unknown>; required: string[] }[] } } };
    };
    expect(doc.openapi).toBe('3.1.0');
    // Valid OpenAPI 3.1, as a validator of the specification (not this project) reads it.
    const validator = new Validator();
    const verdict = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(verdict.errors ?? []).toEqual([]);
    expect([verdict.valid, validator.version]).toEqual([true, '3.1']);
    // Every route the server registered is in it (bar static files and CORS preflights).
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    const api = coord.routes.filter((r) => !r.pattern.includes('*') && r.method !== 'options');
    const registered = api.map((r) => `${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`);
    expect(listed.sort()).toEqual([...new Set(registered)].sort());
    expect(listed).toContain('get /api/jobs/{id}/output.npy');
    expect(doc.paths['/api/jobs'].post['x-scope']).toBe('researcher');
    expect(doc.paths['/api/jobs/{id}'].get.parameters?.map((p) => p.name)).toEqual(['id']);
    expect(doc.paths['/api/models/{sha256}/model.onnx'].get['x-scope']).toBe('worker');
    expect(doc.paths['/api/tokens'].post.requestBody).toBeDefined();
    // Every field the document calls required is one the server refuses a job without.
    const sync = doc.components.schemas.JobSpec.oneOf[0];
    expect(sync.required.sort()).toEqual(['dataset', 'globalBatch', 'model', 'name', 'optimizer', 'shardSize']);
    for (const field of sync.required) {
      const spec: Record<string, unknown> = mlpJob({ rounds: 1 });
      delete spec[field];
      const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${operator}` }, body: JSON.stringify(spec) });
      expect([field, res.status]).toEqual([field, 400]);
    }
  });

  it("closes a revoked token's sockets at once", async () => {
    const worker = await token(['worker']);
    const c = new RawClient(wsUrl(), worker.token);
    await c.opened();
    c.send(hello);
    await c.next('welcome');
    await api(url, operator, `/api/tokens/${worker.id}`, undefined, 'DELETE');
    expect((await c.closed).code).toBe(4001);
    expect(await status('/api/datasets', worker.token)).toBe(401);
  });

  it('expires tokens and records their last use', async () => {
    const short = await token(['worker'], { expiresInS: 1 });
    expect(await status('/api/datasets', short.token)).toBe(200);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await status('/api/datasets', short.token)).toBe(401);
    const listed = (await api<{ id: number; lastUsedAt: number | null; expiresAt: number | null }[]>(url, operator, '/api/tokens')).find(
      (t) => t.id === short.id,
    );
    expect(listed?.lastUsedAt).toBeGreaterThan(0);
    expect(listed?.expiresAt).toBeGreaterThan(0);
  });

  it('bounds connections per token and closes a connection that floods messages', async () => {
    const worker = await token(['worker']);
    const sockets = [new RawClient(wsUrl(), worker.token), new RawClient(wsUrl(), worker.token), new RawClient(wsUrl(), worker.token)];
    await Promise.all(sockets.map((s) => s.opened()));
    const codes = await Promise.race([
      Promise.all(sockets.map((s) => s.closed.then((c) => c.code))),
      new Promise<number[]>((r) => setTimeout(() => r([]), 1500)),
    ]);
    expect(codes).toEqual([]); // not all closed...
    const closedOne = await Promise.race(sockets.map((s) => s.closed.then((c) => c.code)));
    expect(closedOne).toBe(1008); // ...but the third was
    const flood = sockets.find((s) => s.ws.readyState === s.ws.OPEN) as RawClient;
    flood.send(hello);
    await flood.next('welcome');
    for (let i = 0; i < 500; i++) flood.send(JSON.stringify({ type: 'heartbeat', t: i }));
    await flood.error('TOO_MANY_MESSAGES');
    expect((await flood.closed).code).toBe(1008);
  });

  it('bounds anonymous enrolment across all addresses', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await fetch(`${url}/api/enrol`, { method: 'POST' })).status);
    expect(codes.filter((c) => c === 201)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(3);
  });

  it('serves pages with a CSP and security headers', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
  });
});
