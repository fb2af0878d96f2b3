import { GridError } from '../../protocol/errors';
import { publicModel, registeredReply } from '../models/registry';
import { type ApiContext, binary, downloader } from './api';

/** The registry of ONNX models: researchers register them, workers fetch them by hash. */
export function registerModelRoutes({ router, as, store, models, scheduler }: ApiContext) {
  router.route(
    'post',
    '/api/models',
    as('researcher', async (req, who) => {
      const { model, created } = await models.register(req.query.get('name') ?? 'model', await req.body(), who.tokenId);
      await store.audit(`token:${who.tokenId}`, 'model.register', `model:${model.sha256}`, { name: model.name, created });
      return registeredReply(model, created);
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
