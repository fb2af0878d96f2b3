import { GridError } from '../../protocol/errors';
import { parseTrainingSpec } from '../../protocol/job';
import type { Principal } from '../auth';
import { publicModel } from '../models/registry';
import { unpackCheckpoint } from '../training/checkpoint';
import { exportOnnx } from '../training/export';
import { downloader, ownedJob } from './job-routes';
import type { ApiContext } from './routes';
import { binary, intParam } from './routes';

/** Trained models out as ONNX (the latest checkpoint, or a given round's), and the registry of ONNX models. */
export function registerModelRoutes({ router, as, store, datasets, models, scheduler }: ApiContext) {
  /** A job's trained model as an ONNX file, from its latest checkpoint or the one of `round`. */
  const exported = async (jobId: string | undefined, round: number | undefined, who: Principal) => {
    const job = await ownedJob(store, jobId, who);
    const all = await store.checkpoints(job.id);
    const c = round === undefined ? all.at(-1) : all.find((x) => x.round === round);
    if (!c) throw new GridError('NOT_FOUND', round === undefined ? `job ${job.id} has no checkpoint yet` : `no checkpoint at round ${round}`);
    const spec = parseTrainingSpec(JSON.parse(job.spec));
    const { params } = unpackCheckpoint(await store.checkpointData(c.id), c.sha256, spec.model);
    const data = datasets.get(spec.dataset.name, spec.dataset.split).manifest;
    return { job, round: c.round, sha256: c.sha256, file: exportOnnx({ id: job.id, name: job.name, spec }, c.round, params, data) };
  };
  const onnxReply = async (jobId: string | undefined, round: number | undefined, who: Principal) => {
    const e = await exported(jobId, round, who);
    return binary(e.file, { 'Content-Disposition': `attachment; filename="job-${e.job.id}-round-${e.round}.onnx"`, ETag: `"onnx-${e.sha256}"` });
  };
  router.route(
    'get',
    '/api/jobs/:id/model.onnx',
    as('researcher', async (req, who) => onnxReply(req.params.id, undefined, who)),
  );
  router.route(
    'get',
    '/api/jobs/:id/checkpoints/:round/model.onnx',
    as('researcher', async (req, who) => onnxReply(req.params.id, intParam(req.params.round, 'round'), who)),
  );

  const registered = (status: number, model: unknown) => ({ status, body: JSON.stringify(model), type: 'application/json' });
  router.route(
    'post',
    '/api/models',
    as('researcher', async (req, who) => {
      const { model, created } = await models.register(req.query.get('name') ?? 'model', await req.body(), who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'model.register', `model:${model.sha256}`, { name: model.name, created });
      return registered(created ? 201 : 200, model);
    }),
  );
  router.route(
    'post',
    '/api/models/from-job/:id',
    as('researcher', async (req, who) => {
      const e = await exported(req.params.id, undefined, who);
      const { model, created } = await models.register(`job ${e.job.id} round ${e.round}`, e.file, who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'model.register', `model:${model.sha256}`, { job: e.job.id, round: e.round, created });
      return registered(created ? 201 : 200, model);
    }),
  );
  router.route(
    'get',
    '/api/models',
    as('researcher', async (_req, who) => (await store.listModels(who.scopes.has('operator') ? undefined : (who.tokenId ?? -1))).map(publicModel)),
  );
  const stored = async (sha256: string | undefined) => {
    const m = /^[0-9a-f]{64}$/.test(sha256 ?? '') ? await store.model(sha256 as string) : undefined;
    if (!m) throw new GridError('NOT_FOUND', `no model ${sha256}`);
    return m;
  };
  // Workers fetch models by hash (and check it): the bytes never change, so they are cached for good.
  router.route(
    'get',
    '/api/models/:sha256',
    as('worker', async (req) => publicModel(await stored(req.params.sha256))),
  );
  router.route(
    'get',
    '/api/models/:sha256/model.onnx',
    as('worker', async (req, who) => {
      const m = await stored(req.params.sha256);
      scheduler.transfers.add('down', m.bytes, downloader(scheduler, req, who));
      return binary(await store.modelData(m.sha256), { ETag: `"${m.sha256}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
    }),
  );
}
