import { GridError } from '../../protocol/errors';
import { parseTrainingSpec } from '../../protocol/job';
import type { Principal } from '../auth';
import { huggingFaceJson } from '../data/text-tokenizer';
import { registeredReply } from '../models/registry';
import { type ApiContext, binary, intParam, ownedJob, parseBody } from '../net/api';
import type { Job } from '../store/index';
import { unpackCheckpoint } from './checkpoint';
import { adaptersFile, exportOnnx } from './export';
import { generate, generateRequest } from './generate';

/** Trained models out as ONNX (the latest checkpoint, or a given round's), and into the model registry. */
export function registerTrainingRoutes({ router, as, store, datasets, models }: ApiContext) {
  /** A job's parameters from its latest checkpoint or the one of `round`. */
  const checkpointParams = async (job: Job, round: number | undefined) => {
    const all = await store.checkpoints(job.id);
    const c = round === undefined ? all.at(-1) : all.find((x) => x.round === round);
    if (!c) throw new GridError('NOT_FOUND', round === undefined ? `job ${job.id} has no checkpoint yet` : `no checkpoint at round ${round}`);
    const spec = parseTrainingSpec(JSON.parse(job.spec));
    return { c, spec, params: unpackCheckpoint(await store.checkpointData(c.id), c.sha256, spec.model).params };
  };
  /** A job's trained model as an ONNX file, from its latest checkpoint or the one of `round`. */
  const exported = async (jobId: string | undefined, round: number | undefined, who: Principal, outside = true) => {
    const job = await ownedJob(store, jobId, who);
    const { c, spec, params } = await checkpointParams(job, round);
    const data = (await datasets.require(spec.dataset.name, spec.dataset.split)).manifest;
    return { job, round: c.round, sha256: c.sha256, file: exportOnnx({ id: job.id, name: job.name, spec }, c.round, params, data, outside) };
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

  router.route(
    'get',
    '/api/jobs/:id/adapters.safetensors',
    as('researcher', async (req, who) => {
      const job = await ownedJob(store, req.params.id, who);
      const { c, spec, params } = await checkpointParams(job, undefined);
      const file = adaptersFile(spec.model, params, c.round);
      if (!file) throw new GridError('NOT_FOUND', `job ${job.id} is not a LoRA job: it has no adapters`);
      return binary(file, { 'Content-Disposition': `attachment; filename="job-${job.id}-round-${c.round}-adapters.safetensors"` });
    }),
  );
  router.route(
    'get',
    '/api/jobs/:id/tokenizer.json',
    as('researcher', async (req, who) => {
      const job = await ownedJob(store, req.params.id, who);
      const spec = parseTrainingSpec(JSON.parse(job.spec));
      const { tokenizer } = (await datasets.require(spec.dataset.name, spec.dataset.split)).manifest;
      if (!tokenizer) throw new GridError('NOT_FOUND', `job ${job.id} was not trained on a text data set: it has no tokenizer`);
      // Hugging Face's format, which @huggingface/tokenizers (JavaScript), tokenizers and transformers (Python) load.
      const headers = { 'Content-Disposition': `attachment; filename="job-${job.id}-tokenizer.json"` };
      return { body: huggingFaceJson(tokenizer), type: 'application/json', headers };
    }),
  );

  router.route(
    'post',
    '/api/jobs/:id/generate',
    as('researcher', async (req, who) => {
      const r = parseBody(generateRequest, await req.json());
      const job = await ownedJob(store, req.params.id, who);
      const { params, spec } = await checkpointParams(job, r.round);
      const text = await generate(spec.model, params, (await datasets.require(spec.dataset.name, spec.dataset.split)).manifest, r);
      return { status: 200, body: JSON.stringify({ text }), type: 'application/json' };
    }),
  );

  router.route(
    'get',
    '/api/jobs/:id/samples',
    as('researcher', async (req, who) => {
      const job = await ownedJob(store, req.params.id, who);
      // What its language model wrote at each evaluation, the latest first (none for other models).
      return (await store.textSamples(job.id)).map(({ round, seq, prompt, text, at }) => ({
        round: Number(round),
        seq: Number(seq),
        prompt,
        text,
        at: Number(at),
      }));
    }),
  );

  router.route(
    'post',
    '/api/models/from-job/:id',
    as('researcher', async (req, who) => {
      const e = await exported(req.params.id, undefined, who, false); // the grid's own form: fixed shapes, float inputs
      const { model, created } = await models.register(`job ${e.job.id} round ${e.round}`, e.file, who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'model.register', `model:${model.sha256}`, { job: e.job.id, round: e.round, created });
      return registeredReply(model, created);
    }),
  );
}
