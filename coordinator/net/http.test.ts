import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GridError } from '../../protocol/errors';
import { createLogger } from '../log';
import { Metrics } from '../metrics';
import { HttpRouter } from './http';
import { loadUws, type UWS } from './uws';

describe('HTTP adapter on uWS', () => {
  const { uws } = loadUws();
  const app = uws.App();
  let listen: UWS.us_listen_socket | false = false;
  let base = '';
  const metrics = new Metrics();
  let handled = 0;

  beforeAll(async () => {
    const router = new HttpRouter(
      app,
      createLogger('error', () => true),
      metrics,
      1024,
      ['https://lab.example.org'],
    );
    router.route('post', '/echo', async (req) => {
      handled++;
      return { bytes: (await req.body()).length };
    });
    router.route('get', '/item/:name', async (req) => ({ name: req.params.name }));
    router.route('get', '/boom', async () => {
      throw new Error('database said: secret detail');
    });
    router.route('get', '/conflict', async () => {
      throw new GridError('CONFLICT', 'busy');
    });
    listen = await new Promise((ok) => app.listen('127.0.0.1', 0, ok));
    if (!listen) throw new Error('cannot listen');
    base = `http://127.0.0.1:${uws.us_socket_local_port(listen)}`;
  });
  afterAll(() => {
    if (listen) uws.us_listen_socket_close(listen);
  });

  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
    const small = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(await small.json()).toEqual({ bytes: 1000 });
    const big = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const streamed = await fetch(`${base}/echo`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(512));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('derives the status from the code, hides internal errors, and decodes path parameters', async () => {
    const conflict = await fetch(`${base}/conflict`);
    expect(conflict.status).toBe(409);
    const boom = await fetch(`${base}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toMatch(/secret/);
    expect(await (await fetch(`${base}/item/a%20b`)).json()).toEqual({ name: 'a b' });
    const bad = await fetch(`${base}/item/%E0%A4%A`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('answers HEAD like GET without a body, and any other method with 405 and Allow', async () => {
    const head = await fetch(`${base}/item/abc`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, String(JSON.stringify({ name: 'abc' }).length), '']);
    for (const method of ['PATCH', 'PUT']) {
      const res = await fetch(`${base}/item/abc`, { method, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toContain('GET');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    }
    expect((await fetch(`${base}/echo`, { method: 'DELETE', signal: AbortSignal.timeout(5000) })).status).toBe(405);
  });

  it('survives a client that aborts mid-body', async () => {
    const before = handled;
    const ctrl = new AbortController();
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array(100));
        setTimeout(() => ctrl.abort(), 50);
      },
    });
    await fetch(`${base}/echo`, { method: 'POST', body, duplex: 'half', signal: ctrl.signal } as RequestInit).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    expect(handled).toBe(before + 1);
    expect((await fetch(`${base}/conflict`)).status).toBe(409);
    expect(await metrics.render()).toMatch(/grid_http_requests_total\{route="\/conflict",status="409"\} [1-9]/);
  });

  it('answers CORS: only listed origins get a preflight and the allow header', async () => {
    const pre = (origin: string) => fetch(`${base}/echo`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const allowed = await pre('https://lab.example.org');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://lab.example.org');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await pre('https://evil.example.com');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${base}/item/x`, { headers: { origin: 'https://evil.example.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const ok = await fetch(`${base}/item/x`, { headers: { origin: 'https://lab.example.org' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://lab.example.org');
  });
});
