import { readFileSync } from 'node:fs';
import { GridError } from '../../protocol/errors';
import { arr, int, lit, obj, type Schema, SchemaError, str, withDefault } from '../../protocol/schema';
import { type Auth, bearerToken, type Principal, SCOPES, type Scope } from '../auth';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Metrics } from '../metrics';
import type { Store } from '../store/index';
import type { Scheduler } from '../training/scheduler';
import type { HttpRouter, Request } from './http';

export interface ApiOptions {
  router: HttpRouter;
  auth: Auth;
  store: Store;
  scheduler: Scheduler;
  datasets: DatasetRegistry;
  metrics: Metrics;
  enrolment: boolean;
  started: number;
  native: boolean;
}

const intParam = (v: string | undefined, name: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new GridError('BAD_REQUEST', `${name} must be a non-negative integer`);
  return n;
};
const tokenRequest = obj({ name: str(100), scopes: arr(lit(...SCOPES), 3, 1), ratePerMin: withDefault(int(1, 1_000_000), 600) });

/** Validate a request body with a protocol schema; a mismatch is BAD_REQUEST naming the field. */
function parseBody<T>(schema: Schema<T>, body: unknown): T {
  try {
    return schema(body, 'body');
  } catch (e) {
    if (e instanceof SchemaError) throw new GridError('BAD_REQUEST', e.message);
    throw e;
  }
}

const binary = (body: Uint8Array, headers: Record<string, string> = {}) => ({ body, type: 'application/octet-stream', headers });

/** The REST API: jobs, metrics, checkpoints, workers, tokens, data sets, enrolment, health and metrics. */
export function registerApi(o: ApiOptions) {
  const { router, auth, store, scheduler, datasets } = o;
  const as = (scope: Scope, h: (req: Request, who: Principal) => Promise<unknown>) => async (req: Request) =>
    h(req, await auth.authenticate(bearerToken(req.headers.authorization, req.query), scope, req.ip));

  router.route('get', '/health', async () => ({
    ok: true,
    uptimeS: Math.round((Date.now() - o.started) / 1000),
    store: store.dialect,
    uws: o.native ? 'native' : 'fallback',
    workers: scheduler.workerCount,
  }));
  router.route('get', '/metrics', async () => ({ body: await o.metrics.render(), type: o.metrics.contentType }));

  router.route('post', '/api/enrol', async (req) => {
    if (!o.enrolment) throw new GridError('ENROLMENT_CLOSED', undefined);
    auth.charge(`enrol:${req.ip}`, 10);
    const t = await auth.issue('volunteer', ['worker'], 600);
    await store.audit(`ip:${req.ip}`, 'token.enrol', `token:${t.id}`);
    return { status: 201, body: JSON.stringify({ token: t.token }), type: 'application/json' };
  });

  router.route(
    'post',
    '/api/tokens',
    as('operator', async (req, who) => {
      const b = parseBody(tokenRequest, await req.json());
      const t = await auth.issue(b.name, b.scopes, b.ratePerMin);
      await store.audit(`token:${who.tokenId}`, 'token.issue', `token:${t.id}`, { scopes: b.scopes });
      return { status: 201, body: JSON.stringify(t), type: 'application/json' };
    }),
  );
  router.route(
    'get',
    '/api/tokens',
    as('operator', async () => store.listTokens()),
  );
  router.route(
    'delete',
    '/api/tokens/:id',
    as('operator', async (req, who) => {
      const id = intParam(req.params.id, 'id');
      if (!(await auth.revoke(id))) throw new GridError('NOT_FOUND', `no active token ${id}`);
      await store.audit(`token:${who.tokenId}`, 'token.revoke', `token:${id}`);
      return { revoked: id };
    }),
  );

  router.route(
    'get',
    '/api/workers',
    as('researcher', async () => (await store.listWorkers()).map((w) => ({ ...w, capabilities: JSON.parse(w.capabilities) }))),
  );

  router.route(
    'post',
    '/api/jobs',
    as('researcher', async (req, who) => {
      const id = await scheduler.submit(await req.json(), who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'job.submit', `job:${id}`);
      return { status: 201, body: JSON.stringify({ id }), type: 'application/json' };
    }),
  );
  router.route(
    'get',
    '/api/jobs',
    as('researcher', async () => (await store.listJobs()).map(publicJob)),
  );
  router.route(
    'get',
    '/api/jobs/:id',
    as('researcher', async (req) => {
      const job = await store.job(intParam(req.params.id, 'id'));
      if (!job) throw new GridError('NOT_FOUND', `no job ${req.params.id}`);
      return { ...publicJob(job), live: scheduler.status(job.id) ?? null };
    }),
  );
  for (const action of ['pause', 'resume', 'cancel'] as const)
    router.route(
      'post',
      `/api/jobs/:id/${action}`,
      as('researcher', async (req, who) => {
        const id = intParam(req.params.id, 'id');
        await scheduler.control(id, action);
        await store.audit(`token:${who.tokenId}`, `job.${action}`, `job:${id}`);
        return { id, action };
      }),
    );
  router.route(
    'get',
    '/api/jobs/:id/metrics',
    as('researcher', async (req) => store.metrics(intParam(req.params.id, 'id'), Number(req.query.get('since') ?? 0) || 0)),
  );
  router.route(
    'get',
    '/api/jobs/:id/checkpoints',
    as('researcher', async (req) => (await store.checkpoints(intParam(req.params.id, 'id'))).map(({ path, ...c }) => c)),
  );
  router.route(
    'get',
    '/api/jobs/:id/checkpoints/:round',
    as('researcher', async (req) => {
      const round = intParam(req.params.round, 'round');
      const c = (await store.checkpoints(intParam(req.params.id, 'id'))).find((x) => x.round === round);
      if (!c) throw new GridError('NOT_FOUND', `no checkpoint at round ${round}`);
      return binary(readFileSync(c.path), {
        'Content-Disposition': `attachment; filename="job-${c.job_id}-round-${round}.safetensors"`,
        ETag: `"${c.sha256}"`,
      });
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/params',
    as('worker', async (req) =>
      binary(scheduler.params(intParam(req.params.id, 'id'), intParam(req.query.get('version') ?? undefined, 'version')), {
        'Cache-Control': 'private, max-age=3600',
      }),
    ),
  );

  router.route(
    'get',
    '/api/datasets',
    as('worker', async () => datasets.list()),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split',
    as('worker', async (req) => datasets.get(req.params.name, req.params.split).manifest),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split/chunks/:index',
    as('worker', async (req) => {
      const ds = datasets.get(req.params.name, req.params.split);
      const i = intParam(req.params.index, 'index');
      const chunk = ds.chunks[i];
      if (!chunk) throw new GridError('NOT_FOUND', `no chunk ${i}`);
      // Content-addressed: the hash in the manifest names these bytes forever.
      return binary(chunk, { ETag: `"${ds.manifest.chunks[i].sha256}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
    }),
  );
  router.route(
    'post',
    '/api/datasets/:name/:split',
    as('researcher', async (req, who) => {
      const ds = await datasets.uploadCsv(req.params.name, req.params.split, (await req.body()).toString('utf8'));
      await store.audit(`token:${who.tokenId}`, 'dataset.upload', `dataset:${req.params.name}/${req.params.split}`, { samples: ds.manifest.samples });
      return { status: 201, body: JSON.stringify(ds.manifest), type: 'application/json' };
    }),
  );
}

const publicJob = (j: Awaited<ReturnType<Store['job']>> & object) => ({
  id: j.id,
  name: j.name,
  state: j.state,
  round: j.round,
  totalRounds: j.total_rounds,
  paramsVersion: j.params_version,
  spec: JSON.parse(j.spec),
  error: j.error,
  createdAt: j.created_at,
  updatedAt: j.updated_at,
});
