import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { workerProtocols } from '../protocol/messages';

/**
 * A worker that speaks WebSocket by hand over TCP, so it can do what no WebSocket library lets a client do: stop
 * in the middle of a frame, or trickle one byte at a time.
 */
export class RawTcpWorker {
  private socket!: Socket;
  private buffer = Buffer.alloc(0);
  readonly inbox: Record<string, unknown>[] = [];

  async open(port: number, token: string) {
    this.socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => this.socket.once('connect', () => r()));
    const key = randomBytes(16).toString('base64');
    this.socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: ${workerProtocols(token).join(', ')}\r\n\r\n`,
    );
    let upgraded = false;
    let onUpgrade = () => {};
    const ready = new Promise<void>((r) => {
      onUpgrade = r;
    });
    this.socket.on('data', (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      if (!upgraded) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        if (!this.buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${this.buffer.subarray(0, end)}`);
        this.buffer = this.buffer.subarray(end + 4);
        onUpgrade();
      }
      this.readFrames();
    });
    this.socket.on('error', () => {});
    await ready; // the server authenticates before it answers; frames sent earlier would be lost
  }

  /** Server frames are unmasked; only short text frames matter here. */
  private readFrames() {
    for (;;) {
      if (this.buffer.length < 2) return;
      let len = this.buffer[1] & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = [this.buffer.readUInt16BE(2), 4];
      else if (len === 127) [len, at] = [Number(this.buffer.readBigUInt64BE(2)), 10];
      if (this.buffer.length < at + len) return;
      const opcode = this.buffer[0] & 0x0f;
      if (opcode === 1) this.inbox.push(JSON.parse(this.buffer.subarray(at, at + len).toString()));
      this.buffer = this.buffer.subarray(at + len);
    }
  }

  /** One masked client frame (text or binary), as bytes. */
  static frame(payload: Uint8Array | string, binary = typeof payload !== 'string'): Buffer {
    const data = Buffer.from(payload);
    const mask = randomBytes(4);
    const op = 0x80 | (binary ? 2 : 1);
    let head: Buffer;
    if (data.length < 126) head = Buffer.from([op, 0x80 | data.length]);
    else if (data.length < 65536) {
      head = Buffer.from([op, 0x80 | 126, 0, 0]);
      head.writeUInt16BE(data.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = op;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(data.length), 2);
    }
    const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
    return Buffer.concat([head, mask, masked]);
  }

  write(bytes: Uint8Array) {
    this.socket.write(bytes);
  }

  async next(type: string, timeoutMs = 10_000): Promise<Record<string, any>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Record<string, any>;
      if (Date.now() > end) throw new Error(`no "${type}" message`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  destroy() {
    this.socket.destroy();
  }
}
