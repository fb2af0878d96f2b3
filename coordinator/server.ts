import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridError } from '../protocol/errors';
import { Auth } from './auth';
import { type CoordinatorConfig, DEFAULT_LIMITS } from './config';
import { DatasetRegistry } from './data/dataset-registry';
import { KIND_ROUTES, Scheduler } from './job-kinds';
import { createLogger, errorText, type Logger } from './log';
import { Metrics } from './metrics';
import { ModelRegistry } from './models/registry';
import { EnrolmentPuzzles } from './net/enrolment-puzzles';
import { HttpRouter, type RouteInfo } from './net/http';
import { registerApi } from './net/routes';
import { staticFiles } from './net/static-files';
import { loadUws } from './net/uws';
import { workerSocket } from './net/worker-socket';
import { openStore } from './store/index';

/** Wire store, scheduler, API, static files and the worker socket onto one uWS app. */
export async function startCoordinator(cfg: CoordinatorConfig) {
  const log = cfg.log ?? createLogger();
  const limits = { ...DEFAULT_LIMITS, ...cfg.limits };
  const { uws, native } = loadUws();
  if (native) log.info('uWebSockets.js native binding in use');
  else log.warn('uWebSockets.js native binding failed to load; running on the slow JS fallback');
  mkdirSync(cfg.dataDir, { recursive: true });
  const store = await openStore(cfg.databaseUrl);
  store.onRetry = (e, attempt) => log.warn('database unavailable; retrying the transaction', { attempt, err: errorText(e) });
  // Every audited action is logged as well (a job submitted, paused or cancelled, a token issued): one line each.
  const record = store.audit.bind(store);
  store.audit = async (actor, action, target, detail) => {
    await record(actor, action, target, detail);
    log.info(action, { actor, target });
  };
  log.info('store ready', { dialect: store.dialect, url: cfg.databaseUrl.replace(/\/\/[^@]*@/, '//***@') });
  const metrics = new Metrics();
  const auth = new Auth(store);
  if (cfg.operatorToken) await auth.ensure(cfg.operatorToken, 'operator (env)', ['operator']);
  else await bootstrapOperatorToken(store, auth, cfg.dataDir, log);

  const datasets = new DatasetRegistry(store, cfg.dataDir, cfg.fashionMnistDir, (m) => log.warn(m));
  await datasets.init();
  const owner = `coord-${randomUUID().slice(0, 8)}`;
  const allowlist = cfg.modelAllowlist ? new Set(cfg.modelAllowlist) : undefined;
  const scheduler = new Scheduler({ store, datasets, log, metrics, owner, evaluator: cfg.evaluator, limits, modelAllowlist: allowlist });
  const models = new ModelRegistry({ store, maxBytes: cfg.maxModelBytes ?? 64 << 20, allowlist });

  const app = uws.App();
  const router = new HttpRouter(app, log, metrics, cfg.maxBodyBytes, cfg.corsOrigins);
  const started = Date.now();
  registerApi({
    router,
    auth,
    store,
    scheduler,
    datasets,
    models,
    metrics,
    enrolment: cfg.enrolment,
    enrolPerMinute: limits.enrolPerMinute,
    enrolPerPrefixPerMinute: limits.enrolPerPrefixPerMinute,
    puzzles: new EnrolmentPuzzles(limits.enrolProofBits),
    started,
    native,
    kindRoutes: KIND_ROUTES,
  });
  app.ws(
    '/ws',
    workerSocket({
      auth,
      store,
      port: scheduler.port,
      log,
      metrics,
      maxFrameBytes: cfg.maxFrameBytes,
      heartbeatMs: cfg.heartbeatMs,
      maxSocketsPerToken: limits.maxSocketsPerToken,
      helloTimeoutMs: limits.helloTimeoutMs,
    }),
  );
  const files = staticFiles([{ prefix: '/', dir: cfg.webDir }]);
  router.route('get', '/*', async (req) => {
    // The console's own addresses (a run's page, /console/jobs/7) are the console; its assets are absolute paths.
    const reply = files(req.path === '/console' || req.path.startsWith('/console/') ? '/console.html' : req.path);
    if (reply) return reply;
    if (req.path.startsWith('/api/')) throw new GridError('NOT_FOUND', `no route ${req.path}`);
    return files('/index.html') ?? { status: 404, body: 'web client not built: run `npm run build`', type: 'text/plain' };
  });

  const listen = await new Promise<unknown>((ok) => app.listen(cfg.host, cfg.port, ok));
  if (!listen) throw new Error(`cannot listen on ${cfg.host}:${cfg.port}`);
  const port = uws.us_socket_local_port(listen as never);
  await scheduler.start();
  log.info('coordinator listening', {
    port,
    url: `http://localhost:${port}/`,
    console: `http://localhost:${port}/console`,
    owner,
    enrolment: cfg.enrolment,
    webDir: existsSync(cfg.webDir) ? cfg.webDir : null,
  });
  return {
    port,
    store,
    scheduler,
    auth,
    /** The HTTP routes as registered (method, pattern, scope): what the OpenAPI document is made from. */
    routes: router.routes as readonly RouteInfo[],
    async close() {
      uws.us_listen_socket_close(listen as never);
      await scheduler.stop();
      await models.close();
      await store.releaseJobs(owner);
      await store.close();
    },
  };
}

/** First start: mint an operator token, print it once and keep it in a 0600 file in the data dir. */
async function bootstrapOperatorToken(store: Awaited<ReturnType<typeof openStore>>, auth: Auth, dataDir: string, log: Logger) {
  const existing = (await store.listTokens()).some((t) => t.scopes.includes('operator') && t.revoked_at === null);
  if (existing) return;
  const t = await auth.issue('operator (bootstrap)', ['operator'], 6000);
  const file = join(dataDir, 'operator-token');
  writeFileSync(file, `${t.token}\n`);
  chmodSync(file, 0o600);
  // Shown once on the terminal, never in the JSON log (logs get shipped and kept).
  process.stderr.write(`\noperator token (also in ${file}): ${t.token}\n\n`);
  log.info('operator token created', { file });
}
