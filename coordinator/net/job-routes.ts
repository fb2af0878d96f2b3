import { GridError } from '../../protocol/errors';
import type { Principal } from '../auth';
import type { Job } from '../store/index';
import { type ApiContext, binary, camelKeys, downloader, intParam, ownedJob } from './api';
import { type MetricPoint, metricsCsv } from './metrics-csv';

/** Jobs, their metrics, checkpoints and parameters. Jobs belong to the token that made them. */
export function registerJobRoutes({ router, as, store, scheduler }: ApiContext) {
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
      // What the job's kind adds (an inference job: which engines and providers computed its standing shards).
      return { ...publicJob(job), live: scheduler.status(job.id) ?? null, ...(await scheduler.kindStatus(job)) };
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
  /** Every metric of a job: the store answers 10,000 points at a time, and a long run has more. */
  const allMetrics = async (job: Job) => {
    const points: MetricPoint[] = [];
    for (let page = await store.metrics(job.id, 0); page.length; page = await store.metrics(job.id, Number(page[page.length - 1].id)))
      for (const m of page) points.push({ round: Number(m.round), name: m.name, value: Number(m.value), at: Number(m.at) });
    return points;
  };
  router.route(
    'get',
    '/api/jobs/:id/metrics.csv',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      const headers = { 'Content-Disposition': `attachment; filename="job-${job.id}-metrics.csv"` };
      return { body: metricsCsv(await allMetrics(job)), type: 'text/csv', headers };
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/metrics.json',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      const headers = { 'Content-Disposition': `attachment; filename="job-${job.id}-metrics.json"` };
      return { body: JSON.stringify(await allMetrics(job)), type: 'application/json', headers };
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/workers',
    as('researcher', async (req, who) => {
      const job = await ownJob(req.params.id, who);
      const workers = (await store.jobWorkers(job.id)).map((w) => {
        const engines = (JSON.parse(w.capabilities) as { engines?: { engine: string; adapter: string; samplesPerSec: number }[] }).engines ?? [];
        return {
          id: w.id,
          name: w.name,
          kind: w.kind,
          engine: engines[0] ?? null,
          accepted: Number(w.accepted),
          refused: Number(w.refused),
          samples: Number(w.samples),
        };
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
