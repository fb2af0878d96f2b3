import { errorBody, GridError, refusalFor } from '../../protocol/errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { BodyStream, type Throttle } from './body-stream';
import type { UWS } from './uws';

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: Record<string, string>;
  ip: string;
  /** The body, refused with PAYLOAD_TOO_LARGE past the limit before it is all buffered. */
  body(): Promise<Buffer>;
  /** The body chunk by chunk as it arrives (same limit), for uploads that must not be held whole. */
  stream(): AsyncIterable<Uint8Array>;
  json(): Promise<unknown>;
}

export interface Reply {
  status?: number;
  body?: string | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
}

export type Handler = ((req: Request) => Promise<Reply | unknown>) & { scope?: string };

/** What the API document says of a route: its JSON request body, and who may call it. */
export interface RouteDoc {
  body?: Record<string, unknown>;
}

/** A registered route, as the OpenAPI document lists it. */
export interface RouteInfo extends RouteDoc {
  method: string;
  pattern: string;
  scope?: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** "404 Not Found" for uWS's writeStatus. */
export const statusLine = (status: number) => `${status} ${STATUS_TEXT[status] ?? 'Status'}`;

/** decodeURIComponent that answers BAD_REQUEST instead of throwing a URIError out of a uWS callback. */
export function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new GridError('BAD_REQUEST', 'malformed percent-escape in the path');
  }
}

/** The reply for a refusal: the code's status and the one error body. */
export const errorReply = (e: GridError): Reply => ({ status: e.status, body: errorBody(e), type: 'application/json' });

const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && ('body' in v || 'status' in v) && !Array.isArray(v);

/**
 * The one uWS HTTP adapter: every route gets onAborted, a size-capped body reader, errors turned into
 * `{error: {code, message}}` with the GridError's status, and large bodies streamed with backpressure.
 */
export class HttpRouter {
  /** Every route registered, in order: the OpenAPI document is generated from this list. */
  readonly routes: RouteInfo[] = [];

  constructor(
    private readonly app: UWS.TemplatedApp,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly maxBody: number,
    /** Origins allowed to call the API from a browser; none by default (the console is served from this origin). */
    private readonly corsOrigins: readonly string[] = [],
  ) {
    // Preflights: an allowed origin learns what it may send; any other is refused with a code (and no CORS headers).
    this.route('options', '/*', async (req) => {
      if (!this.corsOrigins.includes(req.headers.origin ?? '')) throw new GridError('FORBIDDEN', 'cross-origin requests from this origin are not allowed');
      const headers = {
        'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
        'Access-Control-Allow-Headers': 'authorization, content-type',
        'Access-Control-Max-Age': '600',
      };
      return { status: 204, headers };
    });
    // Any other method on any path: a 405 naming what is allowed, never a request left hanging.
    this.app.any('/*', (res, req) => {
      const method = req.getMethod().toUpperCase();
      const refuse = async (): Promise<Reply> => ({
        ...errorReply(new GridError('METHOD_NOT_ALLOWED', `${method} is not allowed here`)),
        headers: { Allow: 'GET, HEAD, POST, PUT, DELETE, OPTIONS' },
      });
      this.handle(res, req, [], refuse, 'any');
    });
  }

  route(method: 'get' | 'post' | 'delete' | 'put' | 'options', pattern: string, handler: Handler, doc: RouteDoc = {}) {
    this.routes.push({ method, pattern, scope: handler.scope, ...doc });
    const names = pattern
      .split('/')
      .filter((p) => p.startsWith(':'))
      .map((p) => p.slice(1));
    const register = { get: this.app.get, post: this.app.post, delete: this.app.del, put: this.app.put, options: this.app.options }[method].bind(this.app);
    register(pattern, (res: UWS.HttpResponse, req: UWS.HttpRequest) => this.handle(res, req, names, handler, pattern));
    // HEAD is GET without the body: same status and headers, Content-Length of what GET would send.
    if (method === 'get') this.app.head(pattern, (res: UWS.HttpResponse, req: UWS.HttpRequest) => this.handle(res, req, names, handler, pattern, true));
  }

  handle(res: UWS.HttpResponse, req: UWS.HttpRequest, names: string[], handler: Handler, routeName: string, head = false) {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    let paused = false;
    const throttle = {
      pause: () => {
        paused = true;
        if (!aborted) res.pause();
      },
      resume: () => {
        paused = false;
        if (!aborted) res.resume();
      },
    };
    const started = performance.now();
    let origin = '';
    const finish = (reply: Reply) => {
      const status = reply.status ?? 200;
      if (origin && this.corsOrigins.includes(origin))
        reply = { ...reply, headers: { ...reply.headers, 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } };
      this.metrics.httpRequests.inc({ route: routeName, status });
      const ms = performance.now() - started;
      this.metrics.httpSeconds.observe({ route: routeName }, ms / 1000);
      this.log.debug('request', { method: request?.method, route: routeName, status, ms: Math.round(ms * 10) / 10, ip: request?.ip });
      if (paused) throttle.resume(); // a handler that answered without reading the whole body: the connection reads on
      if (!aborted) send(res, status, reply, () => aborted, head);
    };
    const refuse = (e: unknown) => {
      if (!(e instanceof GridError)) this.log.error('request failed', { route: routeName, err: String((e as Error)?.stack ?? e) });
      return errorReply(refusalFor(e));
    };
    // Everything read from `req` must be read now, before any await; nothing thrown here may escape into uWS.
    let request: Request;
    try {
      request = this.read(res, req, names, throttle);
      origin = request.headers.origin ?? '';
    } catch (e) {
      return finish(refuse(e));
    }
    handler(request)
      .then((out) => (isReply(out) ? out : { body: JSON.stringify(out ?? null), type: 'application/json' }))
      .catch(refuse)
      .then(finish);
  }

  private read(res: UWS.HttpResponse, req: UWS.HttpRequest, names: string[], throttle: Throttle): Request {
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const method = req.getMethod().toUpperCase();
    const stream = new BodyStream(this.maxBody, throttle);
    const declared = Number(headers['content-length'] ?? 0);
    // The body must be subscribed to synchronously, before any await, or uWS drops it.
    if (declared > this.maxBody) stream.fail(new GridError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes exceeds ${this.maxBody}`));
    else if (method === 'POST' || method === 'PUT') res.onData((chunk, isLast) => stream.push(chunk, isLast));
    else stream.push(new ArrayBuffer(0), true);
    let bodyPromise: Promise<Buffer> | undefined;
    const body = () => {
      bodyPromise ??= stream.bytes();
      return bodyPromise;
    };
    const rawParams = names.map((_, i) => req.getParameter(i) ?? '');
    const request: Request = {
      method,
      path: req.getUrl(),
      query: new URLSearchParams(req.getQuery() ?? ''),
      params: {},
      headers,
      ip: Buffer.from(res.getRemoteAddressAsText()).toString(),
      body,
      stream: () => stream,
      json: async () => {
        const b = await body();
        try {
          return JSON.parse(b.toString('utf8') || 'null');
        } catch {
          throw new GridError('BAD_JSON', 'request body is not valid JSON');
        }
      },
    };
    request.params = Object.fromEntries(names.map((n, i) => [n, decodePathPart(rawParams[i])]));
    return request;
  }
}

/** Write a reply, streaming bodies larger than the socket buffer through onWritable. */
function send(res: UWS.HttpResponse, status: number, reply: Reply, isAborted: () => boolean, head = false) {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? new Uint8Array(0));
  const data = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  res.cork(() => {
    res.writeStatus(statusLine(status));
    if (reply.type) res.writeHeader('Content-Type', reply.type);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
    if (head) {
      res.endWithoutBody(data.byteLength);
      return;
    }
    const start = res.getWriteOffset();
    const [ok, done] = res.tryEnd(data, data.byteLength);
    if (ok || done) return;
    res.onWritable((offset) => {
      if (isAborted()) return true;
      const [ok2] = res.tryEnd(data.slice(offset - start), data.byteLength);
      return ok2;
    });
  });
}
