import { GridError } from '../../protocol/errors';
import type { Principal } from '../auth';
import type { Job, Store } from '../store/index';
import type { Scheduler } from '../training/scheduler';
import type { Request } from './http';
import type { ApiContext } from './routes';
import { binary, camelKeys, intParam } from './routes';

/** A researcher sees and controls only what their token created; an operator sees everything. */
const owns = (who: Principal, tokenId: number | null) => who.scopes.has('operator') || tokenId === who.tokenId;

/** The job named in the path, if the caller may see it; someone else's job is NOT_FOUND, not FORBIDDEN. */
export async function ownedJob(store: Store, id: string | undefined, who: Principal): Promise<Job> {
  const job = await store.job(intParam(id, 'id'));
  if (!job || !owns(who, job.token_id)) throw new GridError('NOT_FOUND', `no job ${id}`);
  return job;
}

/** Jobs, their metrics, checkpoints and parameters; data sets. Jobs and uploads belong to the token that made them. */
export function registerJobRoutes({ router, as, store, scheduler, datasets }: ApiContext) {
  const ownJob = (id: string | undefined, who: Principal) => ownedJob(store, id, who);

  router.route(
    'post',
    '/api/jobs',
    as('researcher', async (req, who) => {
      const id = await scheduler.submit(await req.json(), who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'job.submit', `job:${id}`);
      return { status: 201, body: JSON.stringify({ id }), type: 'application/json' };
    }),
    { body: { $ref: '#/components/schemas/JobSpec' } },
  );
  router.route(
    'get',
    '/api/jobs',
    as('researcher', async (_req, who) => (await store.listJobs(who.scopes.has('operator') ? undefined : who.tokenId)).map(publicJob)),
  );
  router.route(
    'get',
    '/api/jobs/:id',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      // An inference job shows which engines and providers computed its standing shards.
      const providers = JSON.parse(job.spec).mode === 'inference' ? await store.providerMix(job.id) : undefined;
      return { ...publicJob(job), live: scheduler.status(job.id) ?? null, ...(providers ? { providers } : {}) };
    }),
  );
  for (const action of ['pause', 'resume', 'cancel'] as const)
    router.route(
      'post',
      `/api/jobs/:id/${action}`,
      as('researcher', async (req, who) => {
        const { id } = await ownJob(req.params.id, who);
        await scheduler.control(id, action);
        await store.audit(`token:${who.tokenId}`, `job.${action}`, `job:${id}`);
        return { id, action };
      }),
    );
  router.route(
    'get',
    '/api/jobs/:id/metrics',
    as('researcher', async (req, who) => (await store.metrics((await ownJob(req.params.id, who)).id, Number(req.query.get('since') ?? 0) || 0)).map(camelKeys)),
  );
  router.route(
    'get',
    '/api/jobs/:id/workers',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      const workers = (await store.jobWorkers(job.id)).map((w) => {
        const engines = (JSON.parse(w.capabilities) as { engines?: { engine: string; adapter: string; samplesPerSec: number }[] }).engines ?? [];
        return { id: w.id, name: w.name, kind: w.kind, engine: engines[0] ?? null, accepted: Number(w.accepted), refused: Number(w.refused) };
      });
      return { workers, refusals: (await store.refusals(job.id)).map(camelKeys) };
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/checkpoints',
    as('researcher', async (req, who) => (await store.checkpoints((await ownJob(req.params.id, who)).id)).map(({ path, ...c }) => camelKeys(c))),
  );
  router.route(
    'get',
    '/api/jobs/:id/checkpoints/:round',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      const round = intParam(req.params.round, 'round');
      const c = (await store.checkpoints(job.id)).find((x) => x.round === round);
      if (!c) throw new GridError('NOT_FOUND', `no checkpoint at round ${round}`);
      return binary(await store.checkpointData(c.id), {
        'Content-Disposition': `attachment; filename="job-${c.job_id}-round-${round}.safetensors"`,
        ETag: `"${c.sha256}"`,
      });
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/params',
    as('worker', async (req, who) => {
      const job = intParam(req.params.id, 'id');
      const from = req.query.get('from');
      const frame = scheduler.params(job, intParam(req.query.get('version') ?? undefined, 'version'), from === null ? undefined : intParam(from, 'from'));
      scheduler.transfers.add('down', frame.byteLength, downloader(scheduler, req, who), job);
      return binary(frame, { 'Cache-Control': 'private, max-age=3600' });
    }),
  );

  router.route(
    'get',
    '/api/datasets',
    as('worker', async () => (await datasets.list()).map(camelKeys)),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split',
    as('worker', async (req) => datasets.get(req.params.name, req.params.split).manifest),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split/chunks/:index',
    as('worker', async (req, who) => {
      const ds = datasets.get(req.params.name, req.params.split);
      const i = intParam(req.params.index, 'index');
      const chunk = ds.chunks[i];
      if (!chunk) throw new GridError('NOT_FOUND', `no chunk ${i}`);
      scheduler.transfers.add('down', chunk.byteLength, downloader(scheduler, req, who));
      // Content-addressed: the hash in the manifest names these bytes forever.
      return binary(chunk, { ETag: `"${ds.manifest.chunks[i].sha256}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
    }),
  );
  router.route(
    'post',
    '/api/datasets/:name/:split',
    as('researcher', async (req, who) => {
      const { name, split } = req.params;
      const existing = await store.dataset(name, split);
      if (existing && !owns(who, existing.token_id)) throw new GridError('FORBIDDEN', `data set ${name}/${split} belongs to another token`);
      // A numpy tensor (inference inputs) when asked for; CSV (features, then the label) otherwise.
      const npy = req.query.get('format') === 'npy';
      const ds = npy ? await datasets.uploadNpy(name, split, await req.body(), who.tokenId) : await datasets.uploadCsv(name, split, req.stream(), who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'dataset.upload', `dataset:${name}/${split}`, { samples: ds.manifest.samples });
      return { status: 201, body: JSON.stringify(ds.manifest), type: 'application/json' };
    }),
  );
}

/** The worker a download is for, by its `Grid-Worker` header, when that worker is connected with the caller's token. */
export function downloader(scheduler: Scheduler, req: Request, who: Principal): string | undefined {
  const id = req.headers['grid-worker'];
  return id && scheduler.dispatcher.isConnectedWith(id, who.tokenId) ? id : undefined;
}

const publicJob = (j: Job) => ({
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
  bytesUp: j.bytes_up,
  bytesDown: j.bytes_down,
});
