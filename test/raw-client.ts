import { expect } from 'vitest';
import WebSocket from 'ws';
import { CpuBackend } from '../kernels/cpu/backend';
import { kernelsEngine } from '../kernels/engine';
import { workerProtocols } from '../protocol/messages';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, waitUntil } from './helpers';

/** A hand-driven worker that records every server message. */
export class RawClient {
  ws: WebSocket;
  inbox: Record<string, unknown>[] = [];
  closed: Promise<{ code: number; reason: string }>;
  /** A socket to `url` (the coordinator's /ws) offering `token` the way real workers do; no token: anonymous. */
  constructor(url: string, token?: string) {
    this.ws = new WebSocket(url, token ? workerProtocols(token) : []);
    this.ws.on('message', (d, binary) => !binary && this.inbox.push(JSON.parse(d.toString())));
    this.closed = new Promise((r) => this.ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  }
  opened() {
    return new Promise<void>((ok, fail) => {
      this.ws.once('open', () => ok());
      this.ws.once('error', fail);
    });
  }
  send(d: string | Uint8Array) {
    this.ws.send(d);
  }
  async next(type: string): Promise<Record<string, any>> {
    return waitUntil(
      `a "${type}" message`,
      async () => {
        const i = this.inbox.findIndex((m) => m.type === type);
        return i >= 0 ? this.inbox.splice(i, 1)[0] : undefined;
      },
      20_000,
      20,
    );
  }
  async error(code: string) {
    const e = await this.next('error');
    expect(e.code).toBe(code);
    return e;
  }
}

/** An honest CPU worker (the real worker loop) that runs until job `jobId` is done; returns the finished job. */
export async function runHonestWorkerUntilDone(url: string, token: string, jobId: number, timeoutMs = 120_000) {
  const capabilities = { kind: 'native' as const, backend: 'cpu' as const, cores: 1, memoryMB: 1000 };
  const loop = new WorkerLoop({
    coordinator: url,
    token,
    engines: [kernelsEngine(new CpuBackend())],
    capabilities,
    cache: memoryCache(),
    connect: (u, p) => new WebSocket(u, p),
  });
  loop.start();
  try {
    return await waitUntil(
      `job ${jobId} done`,
      async () => {
        const j = await api<{ state: string; round: number }>(url, token, `/api/jobs/${jobId}`);
        return j.state === 'done' && j;
      },
      timeoutMs,
    );
  } finally {
    await loop.stop();
  }
}
