import { GridError } from '../../protocol/errors';
import { parseJobSpec } from '../../protocol/job';
import type { Principal } from '../auth';
import { unpackCheckpoint } from '../training/checkpoint';
import { exportOnnx } from '../training/export';
import { ownedJob } from './job-routes';
import type { ApiContext } from './routes';
import { binary, intParam } from './routes';

/** Trained models out as ONNX: the latest checkpoint, or the one of a given round. */
export function registerModelRoutes({ router, as, store, datasets }: ApiContext) {
  const onnxReply = async (jobId: string | undefined, round: number | undefined, who: Principal) => {
    const job = await ownedJob(store, jobId, who);
    const all = await store.checkpoints(job.id);
    const c = round === undefined ? all.at(-1) : all.find((x) => x.round === round);
    if (!c) throw new GridError('NOT_FOUND', round === undefined ? `job ${job.id} has no checkpoint yet` : `no checkpoint at round ${round}`);
    const spec = parseJobSpec(JSON.parse(job.spec));
    const { params } = unpackCheckpoint(await store.checkpointData(c.id), c.sha256, spec.model);
    const data = datasets.get(spec.dataset.name, spec.dataset.split).manifest;
    const file = exportOnnx({ id: job.id, name: job.name, spec }, c.round, params, data);
    return binary(file, {
      'Content-Disposition': `attachment; filename="job-${job.id}-round-${c.round}.onnx"`,
      ETag: `"onnx-${c.sha256}"`,
    });
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
}
