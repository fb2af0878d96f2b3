import { GridError } from '../../protocol/errors';
import { PROTOCOL_VERSION } from '../../protocol/messages';
import { arr, bool, int, lit, obj, opt, str, withDefault } from '../../protocol/schema';
import { SCOPES } from '../auth';
import { RECENT_DAYS } from '../jobs/points';
import { addressPrefix } from './address-prefix';
import { type ApiOptions, camelKeys, guard, intParam, parseBody } from './api';
import { registerDatasetRoutes } from './dataset-routes';
import { registerJobRoutes } from './job-routes';
import { registerModelRoutes } from './model-routes';
import { openApi } from './openapi';

const enrolmentRequest = obj({ open: bool });
/** A solved enrolment puzzle (GET /api/enrol/challenge); the body may be empty where enrolment costs no work. */
const enrolRequest = obj({ challenge: str(200), nonce: str(64) });
const tokenRequest = obj({
  name: str(100),
  scopes: arr(lit(...SCOPES), 3, 1),
  ratePerMin: withDefault(int(1, 1_000_000), 600),
  expiresInS: opt(int(1, 10 * 365 * 86_400)),
});

const recentSince = () => Date.now() - RECENT_DAYS * 86_400_000;

/** A credit row as the API gives it: numbers (drivers sum to strings), points to 0.1, the recent week as points a day. */
const creditOf = (r: { shards: unknown; samples: unknown; points: unknown; recent: unknown }) => ({
  shards: Number(r.shards),
  samples: Number(r.samples ?? 0),
  points: Math.round(Number(r.points ?? 0) * 10) / 10,
  pointsPerDay: Math.round((Number(r.recent ?? 0) / RECENT_DAYS) * 10) / 10,
});

/** The REST API: health, metrics, enrolment, tokens and workers here; jobs, data sets, models and each kind's routes in their files. */
export function registerApi(o: ApiOptions) {
  const { router, auth, store, scheduler } = o;
  const as = guard(auth);

  router.route('get', '/health', async () => ({
    ok: true,
    uptimeS: Math.round((Date.now() - o.started) / 1000),
    store: store.dialect,
    uws: o.native ? 'native' : 'fallback',
    workers: scheduler.workerCount,
    samplesPerSec: Math.round(scheduler.throughput.perSecond(Date.now())),
  }));
  router.route('get', '/metrics', async () => ({ body: await o.metrics.render(), type: o.metrics.contentType }));

  router.route('get', '/api/enrol/challenge', async (req) => {
    if (!o.enrolment) throw new GridError('ENROLMENT_CLOSED', undefined);
    auth.charge(`enrol-challenge:${req.ip}`, 60);
    return o.puzzles.issue();
  });
  router.route(
    'post',
    '/api/enrol',
    async (req) => {
      if (!o.enrolment) throw new GridError('ENROLMENT_CLOSED', undefined);
      auth.charge(`enrol:${req.ip}`, 10);
      const proof = (await req.body()).length ? parseBody(enrolRequest, await req.json()) : undefined;
      o.puzzles.redeem(proof); // before the network's allowance: a missing or wrong proof spends none of it
      auth.charge(`enrol:${addressPrefix(req.ip)}`, o.enrolPerPrefixPerMinute); // many addresses of one network count as one
      auth.charge('enrol:everyone', o.enrolPerMinute); // many addresses cannot mint tokens without bound either
      const t = await auth.issue('volunteer', ['worker'], 600);
      await store.audit(`ip:${req.ip}`, 'token.enrol', `token:${t.id}`);
      return { status: 201, body: JSON.stringify({ token: t.token }), type: 'application/json' };
    },
    { body: enrolRequest.json },
  );

  router.route(
    'post',
    '/api/tokens',
    as('operator', async (req, who) => {
      const b = parseBody(tokenRequest, await req.json());
      const t = await auth.issue(b.name, b.scopes, b.ratePerMin, b.expiresInS ? Date.now() + b.expiresInS * 1000 : null);
      await store.audit(`token:${who.tokenId}`, 'token.issue', `token:${t.id}`, { scopes: b.scopes });
      return { status: 201, body: JSON.stringify(t), type: 'application/json' };
    }),
    { body: tokenRequest.json },
  );
  router.route(
    'get',
    '/api/tokens',
    as('operator', async () => (await store.listTokens()).map(camelKeys)),
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

  // Anonymous enrolment, switched at run time by an operator (GRID_ENROLMENT sets it at start; per coordinator).
  router.route('get', '/api/enrolment', async () => ({ open: o.enrolment }));
  router.route(
    'put',
    '/api/enrolment',
    as('operator', async (req, who) => {
      o.enrolment = parseBody(enrolmentRequest, await req.json()).open;
      await store.audit(`token:${who.tokenId}`, o.enrolment ? 'enrolment.open' : 'enrolment.close', 'enrolment');
      return { open: o.enrolment };
    }),
    { body: enrolmentRequest.json },
  );
  router.route(
    'get',
    '/api/audit',
    as('operator', async () => (await store.auditEvents(200)).map((e) => camelKeys({ ...e, detail: JSON.parse(e.detail) }))),
  );
  router.route(
    'get',
    '/api/workers',
    as('researcher', async () => (await store.listWorkers()).map((w) => camelKeys({ ...w, capabilities: JSON.parse(w.capabilities) }))),
  );

  // Verified credit: results that stand. A volunteer's own, per worker id of its token, and the leaderboard by name.
  router.route(
    'get',
    '/api/me/credit',
    as('worker', async (_req, who) => {
      const workers = (await store.credit({ tokenId: who.tokenId }, recentSince())).map((w) => ({
        id: 'id' in w ? w.id : undefined,
        name: w.name,
        ...creditOf(w),
      }));
      const total = (k: 'shards' | 'samples' | 'points' | 'pointsPerDay') => workers.reduce((n, w) => n + w[k], 0);
      return { shards: total('shards'), samples: total('samples'), points: total('points'), pointsPerDay: total('pointsPerDay'), workers };
    }),
  );
  router.route(
    'get',
    '/api/leaderboard',
    as('worker', async () => (await store.credit({ limit: 50 }, recentSince())).map((r) => ({ name: r.name, ...creditOf(r) }))),
  );
  // Teams: the members' verified credit summed, a team's members counted by worker identity.
  router.route(
    'get',
    '/api/teams',
    as('worker', async () =>
      (await store.credit({ limit: 50, byTeam: true }, recentSince())).map((r) => ({
        name: r.name,
        members: Number('members' in r ? r.members : 0),
        ...creditOf(r),
      })),
    ),
  );

  const api = { ...o, as };
  for (const register of [registerJobRoutes, registerDatasetRoutes, registerModelRoutes, ...(o.kindRoutes ?? [])]) register(api);
  // Made on first request, when every route (this one too) is registered.
  let document: string | undefined;
  router.route('get', '/api/openapi.json', async () => {
    document ??= JSON.stringify(openApi(router.routes, PROTOCOL_VERSION.toString()));
    return { body: document, type: 'application/json' };
  });
}
