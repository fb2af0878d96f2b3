import { GridError } from '../../protocol/errors';
import { type Schema, SchemaError } from '../../protocol/schema';
import { type Auth, bearerToken, type Principal, type Scope } from '../auth';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Scheduler } from '../jobs/scheduler';
import type { Metrics } from '../metrics';
import type { ModelRegistry } from '../models/registry';
import type { Job, Store } from '../store/index';
import type { EnrolmentPuzzles } from './enrolment-puzzles';
import type { Handler, HttpRouter, Request } from './http';

/** What every route file is handed; route files import this module, never the one that composes them. */
export interface ApiOptions {
  router: HttpRouter;
  auth: Auth;
  store: Store;
  scheduler: Scheduler;
  datasets: DatasetRegistry;
  models: ModelRegistry;
  metrics: Metrics;
  enrolment: boolean;
  enrolPerMinute: number;
  enrolPerPrefixPerMinute: number;
  /** The proof of work anonymous enrolment costs. */
  puzzles: EnrolmentPuzzles;
  started: number;
  native: boolean;
  /** Each job kind's own routes (job-kinds.ts). */
  kindRoutes?: ((api: ApiContext) => void)[];
}

/** Wrap a handler: authenticate the bearer token for `scope` and hand the principal over. */
export type Guard = (scope: Scope, h: (req: Request, who: Principal) => Promise<unknown>) => Handler;
export type ApiContext = ApiOptions & { as: Guard };

export function guard(auth: Auth): Guard {
  return (scope, h) => Object.assign(async (req: Request) => h(req, await auth.authenticate(bearerToken(req.headers.authorization), scope, req.ip)), { scope });
}

export const intParam = (v: string | undefined, name: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new GridError('BAD_REQUEST', `${name} must be a non-negative integer`);
  return n;
};

/** Validate a request body with a protocol schema; a mismatch is BAD_REQUEST naming the field. */
export function parseBody<T>(schema: Schema<T>, body: unknown): T {
  try {
    return schema(body, 'body');
  } catch (e) {
    if (e instanceof SchemaError) throw new GridError('BAD_REQUEST', e.message);
    throw e;
  }
}

/** One naming convention for every JSON field the API returns: the store's snake_case columns become camelCase. */
export const camelKeys = (row: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));

export const binary = (body: Uint8Array, headers: Record<string, string> = {}) => ({ body, type: 'application/octet-stream', headers });

/** A researcher sees and controls only what their token created; an operator sees everything. */
export const owns = (who: Principal, tokenId: number | null) => who.scopes.has('operator') || tokenId === who.tokenId;

/** The job named in the path, if the caller may see it; someone else's job is NOT_FOUND, not FORBIDDEN. */
export async function ownedJob(store: Store, id: string | undefined, who: Principal): Promise<Job> {
  const job = await store.job(intParam(id, 'id'));
  if (!job || !owns(who, job.token_id)) throw new GridError('NOT_FOUND', `no job ${id}`);
  return job;
}

/** The worker a download is for, by its `Grid-Worker` header, when that worker is connected with the caller's token. */
export function downloader(scheduler: Scheduler, req: Request, who: Principal): string | undefined {
  const id = req.headers['grid-worker'];
  return id && scheduler.dispatcher.workers.isConnectedWith(id, who.tokenId) ? id : undefined;
}
