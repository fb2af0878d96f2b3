import { GridError } from '../../protocol/errors';
import { parseJobSpec } from '../../protocol/job';
import type { Principal } from '../auth';
import { type ApiContext, binary, ownedJob } from '../net/api';
import { assemble, outputCsv } from './outputs';
import { planInference } from './plan';

/** An inference job's outputs, assembled in input order from what is on record: whole when done, partial before. */
export function registerInferenceRoutes({ router, as, store, datasets }: ApiContext) {
  const outputs = async (id: string | undefined, who: Principal) => {
    const job = await ownedJob(store, id, who);
    const spec = parseJobSpec(JSON.parse(job.spec));
    if (spec.mode !== 'inference') throw new GridError('NOT_FOUND', `job ${job.id} trains a model; it has no inference outputs`);
    await datasets.ensure(spec.dataset.name, spec.dataset.split); // the job may have run on another coordinator
    const plan = await planInference(spec, store, datasets, undefined);
    return { job, spec, plan, rows: await store.outputs(job.id) };
  };
  router.route(
    'get',
    '/api/jobs/:id/output.npy',
    as('researcher', async (req, who) => {
      const { job, spec, plan, rows } = await outputs(req.params.id, who);
      const out = assemble(spec, plan, rows);
      return binary(out.npy, {
        'Content-Disposition': `attachment; filename="job-${job.id}-output.npy"`,
        // Rows not computed yet are NaN (or -1 for classes); these say how much is real.
        'Grid-Rows': String(out.rows),
        'Grid-Rows-Done': String(out.rowsDone),
      });
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/output.csv',
    as('researcher', async (req, who) => {
      const { job, spec, plan, rows } = await outputs(req.params.id, who);
      return {
        body: outputCsv(spec, plan, rows),
        type: 'text/csv',
        headers: { 'Content-Disposition': `attachment; filename="job-${job.id}-output.csv"` },
      };
    }),
  );
}
