import { errorBody, GridError, refusalFor } from '../../protocol/errors';
import { decodeFrame, FrameKind, KIND_BYTE } from '../../protocol/frames';
import { type ClientMessage, errorMessage, PROTOCOL_VERSION, parseClientMessage, type ServerMessage, WS_PROTOCOL } from '../../protocol/messages';
import { type Auth, bearerToken } from '../auth';
import type { WorkerLink } from '../jobs/dispatcher';
import type { WorkerPort } from '../jobs/worker-port';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/index';
import { addressPrefix } from './address-prefix';
import { statusLine } from './http';
import { fullBudget, MESSAGES_PER_S, type MessageBudget, refund, SocketsByToken, withinRate } from './socket-limits';
import type { UWS } from './uws';
import { joinWorker } from './worker-join';

type ResultMessage = Extract<ClientMessage, { type: 'result' }>;

interface Conn extends MessageBudget {
  tokenId: number;
  /** The token has only the worker scope: quarantines apply to the whole token. */
  volunteer: boolean;
  /** The token has the operator scope: its workers are the operator's own, trusted from the start (trust-ledger.ts). */
  trusted: boolean;
  ip: string;
  closed: boolean;
  errors: number;
  link?: WorkerLink;
  /** hello is being processed: a second one is refused. */
  joining?: boolean;
  /** A `result` message waits here for the binary frame that carries its tensor. */
  pending?: ResultMessage;
  queue: (string | Uint8Array)[];
  /** Closes a connection that has not said hello by then: an open socket costs memory and a slot for its token. */
  helloDeadline?: ReturnType<typeof setTimeout>;
}

export interface WorkerSocketOptions {
  auth: Auth;
  store: Store;
  /** The jobs core, as far as a connection may reach into it. */
  port: WorkerPort;
  log: Logger;
  metrics: Metrics;
  maxFrameBytes: number;
  heartbeatMs: number;
  /** Open connections one token may hold; more are refused at the upgrade. */
  maxSocketsPerToken: number;
  /** How long a connection may stay open without saying hello. */
  helloTimeoutMs: number;
}

const MAX_ERRORS = 10;
const HIGH_WATER = 1 << 20;

/** The worker WebSocket endpoint: token check at upgrade, validation of every frame, backpressure on every send. */
export function workerSocket(o: WorkerSocketOptions): UWS.WebSocketBehavior<Conn> {
  const byToken = new SocketsByToken<UWS.WebSocket<Conn>>();
  o.auth.onRevoke((tokenId) => {
    for (const ws of byToken.of(tokenId)) {
      send(ws, errorMessage('UNAUTHORIZED', 'token revoked'));
      ws.end(4001, 'token revoked');
    }
  });
  const send = (ws: UWS.WebSocket<Conn>, msg: ServerMessage | Uint8Array, forAssignment?: number) => {
    const c = ws.getUserData();
    if (c.closed) return;
    const data = msg instanceof Uint8Array ? msg : JSON.stringify(msg);
    o.port.countBytes('down', data.length, c.link?.id, forAssignment); // messages are ASCII JSON: length is bytes
    if (c.queue.length || ws.getBufferedAmount() > HIGH_WATER) c.queue.push(data);
    else ws.send(data, typeof data !== 'string');
  };

  const fail = (ws: UWS.WebSocket<Conn>, e: unknown, assignmentId?: number) => {
    const c = ws.getUserData();
    const err = refusalFor(e);
    if (!(e instanceof GridError)) o.log.error('worker message failed', { err: String((e as Error)?.stack ?? e) });
    // A result that arrives after its lease ended (revoked, backed up, reassigned) is the protocol's ordinary race, not misconduct.
    if (err.code !== 'STALE_RESULT') c.errors++;
    o.metrics.wsRefusals.inc({ code: err.code });
    o.log.warn('worker message refused', { worker: c.link?.id, code: err.code, message: err.message });
    send(ws, errorMessage(err.code, err.message, assignmentId));
    if (err.code === 'VERSION_MISMATCH' && !c.closed) ws.end(1002, 'VERSION_MISMATCH');
    else if (c.errors >= MAX_ERRORS && !c.closed) {
      send(ws, errorMessage('TOO_MANY_ERRORS', `${c.errors} invalid messages`));
      ws.end(1008, 'TOO_MANY_ERRORS');
    }
  };

  const onText = async (ws: UWS.WebSocket<Conn>, msg: ClientMessage) => {
    const c = ws.getUserData();
    if (msg.type === 'hello') {
      if (c.link || c.joining) throw new GridError('BAD_MESSAGE', 'hello was already received');
      c.joining = true;
      const link = await join(ws, msg);
      if (!link) return;
      c.link = link;
      send(ws, { type: 'welcome', protocol: PROTOCOL_VERSION, workerId: link.id, heartbeatMs: o.heartbeatMs });
      o.log.info('worker joined', {
        worker: link.id,
        name: link.name,
        kind: link.kind,
        backend: msg.capabilities.backend,
        adapter: msg.capabilities.adapter?.description,
        ip: c.ip,
      });
      return;
    }
    if (!c.link) throw new GridError('NOT_REGISTERED');
    switch (msg.type) {
      case 'ready':
        return o.port.ready(c.link.id, msg.slots);
      case 'heartbeat':
        return;
      case 'result':
        if (c.pending) throw new GridError('BAD_MESSAGE', 'a result message is already waiting for its frame');
        c.pending = msg;
        return;
      case 'release':
        return o.port.release(c.link.id, msg.assignmentId, msg.reason);
    }
  };

  /** Register the connection as a worker (worker-join.ts). */
  const join = (ws: UWS.WebSocket<Conn>, msg: Extract<ClientMessage, { type: 'hello' }>) => {
    const c = ws.getUserData();
    const joining = {
      tokenId: c.tokenId,
      network: addressPrefix(c.ip),
      volunteer: c.volunteer,
      trusted: c.trusted,
      isClosed: () => c.closed,
      send: (m: ServerMessage | Uint8Array, forAssignment?: number) => send(ws, m, forAssignment),
      close: (code: number, reason: string) => {
        if (!c.closed) ws.end(code, reason);
      },
    };
    return joinWorker(joining, msg, o);
  };

  const onBinary = async (ws: UWS.WebSocket<Conn>, bytes: Uint8Array, meta: ResultMessage) => {
    const c = ws.getUserData();
    if (!c.link) throw new GridError('NOT_REGISTERED');
    const frame = decodeFrame(bytes, o.maxFrameBytes);
    await o.port.result(c.link.id, meta, frame);
    refund(c);
    send(ws, { type: 'ack', assignmentId: meta.assignmentId });
  };

  return {
    maxPayloadLength: o.maxFrameBytes, // larger frames close the socket before they are buffered
    maxBackpressure: 16 << 20,
    idleTimeout: Math.max(8, Math.ceil((o.heartbeatMs * 4) / 1000)),
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const offered = req.getHeader('sec-websocket-protocol');
      const token = bearerToken(req.getHeader('authorization') || undefined, offered);
      const key = req.getHeader('sec-websocket-key');
      // Answer with the grid protocol, never echoing the offer that carries the token.
      const protocol = offered.split(',').some((p) => p.trim() === WS_PROTOCOL) ? WS_PROTOCOL : '';
      const extensions = req.getHeader('sec-websocket-extensions');
      const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
      o.auth
        .authenticate(token, 'worker', ip)
        .then((p) => {
          if (aborted) return;
          res.cork(() =>
            res.upgrade<Conn>(
              {
                tokenId: p.tokenId,
                volunteer: p.scopes.size === 1 && p.scopes.has('worker'),
                trusted: p.scopes.has('operator'),
                ip,
                closed: false,
                errors: 0,
                queue: [],
                ...fullBudget(),
              },
              key,
              protocol,
              extensions,
              context,
            ),
          );
        })
        .catch((e: unknown) => {
          if (aborted) return;
          const err = refusalFor(e);
          if (!(e instanceof GridError)) o.log.error('worker authentication failed', { err: String(e) });
          o.metrics.wsRefusals.inc({ code: err.code });
          res.cork(() => res.writeStatus(statusLine(err.status)).writeHeader('Content-Type', 'application/json').end(errorBody(err)));
        });
    },
    open: (ws) => {
      const c = ws.getUserData();
      if (byToken.add(c.tokenId, ws) > o.maxSocketsPerToken) {
        send(ws, errorMessage('RATE_LIMITED', `this token already holds ${o.maxSocketsPerToken} connections`));
        ws.end(1008, 'RATE_LIMITED');
        return;
      }
      c.helloDeadline = setTimeout(() => {
        if (c.closed || c.link || c.joining) return;
        o.metrics.wsRefusals.inc({ code: 'HELLO_TIMEOUT' });
        send(ws, errorMessage('HELLO_TIMEOUT', `no hello within ${o.helloTimeoutMs} ms`));
        ws.end(1008, 'HELLO_TIMEOUT');
      }, o.helloTimeoutMs);
    },
    message: (ws, message, isBinary) => {
      if (!withinRate(ws.getUserData())) {
        const c = ws.getUserData();
        if (c.closed) return;
        o.metrics.wsRefusals.inc({ code: 'TOO_MANY_MESSAGES' });
        send(ws, errorMessage('TOO_MANY_MESSAGES', `more than ${MESSAGES_PER_S} messages a second`));
        ws.end(1008, 'TOO_MANY_MESSAGES');
        return;
      }
      o.metrics.wsMessages.inc({ binary: String(isBinary) });
      const from = ws.getUserData();
      o.port.countBytes('up', message.byteLength, from.link?.id, isBinary ? from.pending?.assignmentId : undefined);
      if (isBinary) {
        const c = ws.getUserData();
        const meta = c.pending;
        c.pending = undefined;
        if (!c.link) return fail(ws, new GridError('NOT_REGISTERED'));
        if (!meta) return fail(ws, new GridError('BAD_FRAME', 'binary frame without a preceding result message'));
        const bytes = kept(message); // uWS neuters `message` when this callback returns
        void onBinary(ws, bytes, meta).catch((e) => fail(ws, e, meta.assignmentId));
        return;
      }
      let msg: ClientMessage;
      try {
        msg = parseClientMessage(Buffer.from(message).toString('utf8'), o.maxFrameBytes);
      } catch (e) {
        return fail(ws, e);
      }
      void onText(ws, msg).catch((e) => fail(ws, e, (msg as { assignmentId?: number }).assignmentId));
    },
    drain: (ws) => {
      const c = ws.getUserData();
      while (c.queue.length && ws.getBufferedAmount() <= HIGH_WATER) {
        const data = c.queue.shift()!;
        ws.send(data, typeof data !== 'string');
      }
    },
    close: (ws, code) => {
      const c = ws.getUserData();
      c.closed = true;
      clearTimeout(c.helloDeadline);
      byToken.remove(c.tokenId, ws);
      if (c.link) {
        o.log.info('worker left', { worker: c.link.id, code });
        void o.port.leave(c.link).catch((e) => o.log.error('worker removal failed', { err: String(e) }));
      }
    },
  };
}

/**
 * A binary message's copy: a result the aggregation threads read lands in shared memory, so an f32 one is used where
 * it lies (result-check.ts) instead of copied a second time; other frames (outputs the store keeps) in plain memory.
 */
function kept(message: ArrayBuffer): Uint8Array {
  const kind = message.byteLength > KIND_BYTE ? new Uint8Array(message, KIND_BYTE, 1)[0] : 0;
  if (kind !== FrameKind.gradient && kind !== FrameKind.delta) return new Uint8Array(message.slice(0));
  const bytes = new Uint8Array(new SharedArrayBuffer(message.byteLength));
  bytes.set(new Uint8Array(message));
  return bytes;
}
