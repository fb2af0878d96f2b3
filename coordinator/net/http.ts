import { GridError } from '../../protocol/errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
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
  json(): Promise<unknown>;
}

export interface Reply {
  status?: number;
  body?: string | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: Request) => Promise<Reply | unknown>;

const STATUS: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  206: '206 Partial Content',
  304: '304 Not Modified',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
};

const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && ('body' in v || 'status' in v) && !Array.isArray(v);

/**
 * The one uWS HTTP adapter: every route gets onAborted, a size-capped body reader, errors turned into
 * `{error: {code, message}}` with the GridError's status, and large bodies streamed with backpressure.
 */
export class HttpRouter {
  constructor(
    private readonly app: UWS.TemplatedApp,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly maxBody: number,
  ) {}

  route(method: 'get' | 'post' | 'delete' | 'put', pattern: string, handler: Handler) {
    const names = pattern.split('/').filter((p) => p.startsWith(':')).map((p) => p.slice(1));
    const register = { get: this.app.get, post: this.app.post, delete: this.app.del, put: this.app.put }[method].bind(this.app);
    register(pattern, (res: UWS.HttpResponse, req: UWS.HttpRequest) => this.handle(res, req, names, handler, pattern));
  }

  handle(res: UWS.HttpResponse, req: UWS.HttpRequest, names: string[], handler: Handler, routeName: string) {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(req.getParameter(i))]));
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    let bodyPromise: Promise<Buffer> | undefined;
    const body = () => (bodyPromise ??= readBody(res, this.maxBody, Number(headers['content-length'] ?? 0)));
    // The body must be subscribed to synchronously, before any await, or uWS drops it.
    const method = req.getMethod().toUpperCase();
    if (method === 'POST' || method === 'PUT') void body().catch(() => {});
    const request: Request = {
      method,
      path: req.getUrl(),
      query: new URLSearchParams(req.getQuery() ?? ''),
      params,
      headers,
      ip,
      body,
      json: async () => {
        const b = await body();
        try {
          return JSON.parse(b.toString('utf8') || 'null');
        } catch {
          throw new GridError('BAD_JSON', 'request body is not valid JSON');
        }
      },
    };
    const started = performance.now();
    handler(request)
      .then((out) => (isReply(out) ? out : { body: JSON.stringify(out ?? null), type: 'application/json' }))
      .catch((e: unknown) => {
        const err = e instanceof GridError ? e : new GridError('INTERNAL', 'internal error', 500);
        if (!(e instanceof GridError)) this.log.error('request failed', { route: routeName, err: String((e as Error)?.stack ?? e) });
        return { status: err.status, body: JSON.stringify({ error: { code: err.code, message: err.message } }), type: 'application/json' };
      })
      .then((reply) => {
        const status = reply.status ?? 200;
        this.metrics.inc('grid_http_requests_total', 'HTTP requests by route and status', { route: routeName, status });
        this.metrics.inc('grid_http_seconds_total', 'Time spent in HTTP handlers', { route: routeName }, (performance.now() - started) / 1000);
        if (!aborted) send(res, status, reply, () => aborted);
      });
  }
}

function readBody(res: UWS.HttpResponse, max: number, declared: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declared > max) return reject(new GridError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes exceeds ${max}`, 413));
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > max) {
        failed = true;
        return reject(new GridError('PAYLOAD_TOO_LARGE', `body exceeds ${max} bytes`, 413));
      }
      parts.push(Buffer.from(chunk.slice(0))); // uWS neuters the chunk after this callback
      if (isLast) resolve(Buffer.concat(parts));
    });
  });
}

/** Write a reply, streaming bodies larger than the socket buffer through onWritable. */
function send(res: UWS.HttpResponse, status: number, reply: Reply, isAborted: () => boolean) {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? new Uint8Array(0));
  const data = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  res.cork(() => {
    res.writeStatus(STATUS[status] ?? `${status} Status`);
    if (reply.type) res.writeHeader('Content-Type', reply.type);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
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
