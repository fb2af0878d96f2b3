import { expect } from 'vitest';
import WebSocket from 'ws';
import { waitUntil } from './helpers';

/** A hand-driven worker that records every server message. */
export class RawClient {
  ws: WebSocket;
  inbox: Record<string, unknown>[] = [];
  closed: Promise<{ code: number; reason: string }>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
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
