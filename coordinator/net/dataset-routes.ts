import { GridError } from '../../protocol/errors';
import { targetsFromQuery } from '../../protocol/targets';
import type { TokenizerChoice } from '../data/text';
import { huggingFaceJson } from '../data/text-tokenizer';
import { type ApiContext, binary, camelKeys, downloader, intParam, owns } from './api';

/** Data sets: listed, described and fetched by chunk (content-addressed) by workers; uploaded by researchers. */
export function registerDatasetRoutes({ router, as, store, scheduler, datasets }: ApiContext) {
  router.route(
    'get',
    '/api/datasets',
    as('worker', async () => (await datasets.list()).map(camelKeys)),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split',
    as('worker', async (req) => (await datasets.require(req.params.name, req.params.split)).manifest),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split/tokenizer.json',
    as('worker', async (req) => {
      const { tokenizer } = (await datasets.require(req.params.name, req.params.split)).manifest;
      if (!tokenizer) throw new GridError('BAD_REQUEST', `${req.params.name}/${req.params.split} is not a text data set: it has no tokenizer`);
      // Hugging Face's format, for @huggingface/tokenizers, Python's tokenizers or transformers outside the grid.
      const headers = { 'Content-Disposition': 'attachment; filename="tokenizer.json"' };
      return { body: huggingFaceJson(tokenizer), type: 'application/json', headers };
    }),
  );
  router.route(
    'get',
    '/api/datasets/:name/:split/chunks/:index',
    as('worker', async (req, who) => {
      const ds = await datasets.require(req.params.name, req.params.split);
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
      if (req.query.get('format') === 'text') {
        // A corpus: blocks of tokens (characters, or BPE trained here to `vocab`), its train and validation splits made here.
        if (split !== 'train')
          throw new GridError('BAD_REQUEST', `a text upload makes ${name}/train and ${name}/validation: post it to /api/datasets/${name}/train`);
        const blockSize = Number(req.query.get('blockSize') ?? 64);
        if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 4096)
          throw new GridError('BAD_REQUEST', `blockSize=${req.query.get('blockSize')}: 1..4096`);
        const kind = req.query.get('tokenizer') ?? 'char';
        if (kind !== 'char' && kind !== 'bpe') throw new GridError('BAD_REQUEST', `tokenizer=${kind}: char or bpe`);
        const choice: TokenizerChoice = kind === 'bpe' ? { kind, vocab: Number(req.query.get('vocab') ?? 1024) } : { kind };
        const ds = await datasets.uploadText(name, await req.body(), blockSize, who.tokenId, choice);
        await store.audit(`token:${who.tokenId}`, 'dataset.upload', `dataset:${name}/text`, { samples: ds.manifest.samples });
        return { status: 201, body: JSON.stringify(ds.manifest), type: 'application/json' };
      }
      if (req.query.get('format') === 'npy-targets') {
        // Targets for .npy inputs uploaded before: a second .npy, a row per sample.
        const kind = targetsFromQuery(req.query.get('targets'), null).kind;
        const ds = await datasets.uploadNpyTargets(name, split, await req.body(), kind, who.tokenId);
        await store.audit(`token:${who.tokenId}`, 'dataset.targets', `dataset:${name}/${split}`, { kind });
        return { status: 201, body: JSON.stringify(ds.manifest), type: 'application/json' };
      }
      // A numpy tensor (inference inputs) when asked for; CSV (features, then the targets) otherwise.
      const npy = req.query.get('format') === 'npy';
      const targets = npy ? undefined : targetsFromQuery(req.query.get('targets'), req.query.get('targetColumns'));
      const ds = npy
        ? await datasets.uploadNpy(name, split, await req.body(), who.tokenId)
        : await datasets.uploadCsv(name, split, req.stream(), who.tokenId, targets);
      await store.audit(`token:${who.tokenId}`, 'dataset.upload', `dataset:${name}/${split}`, { samples: ds.manifest.samples });
      return { status: 201, body: JSON.stringify(ds.manifest), type: 'application/json' };
    }),
  );
}
