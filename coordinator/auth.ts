import { createHash, randomBytes } from 'node:crypto';
import { GridError } from '../protocol/errors';
import { WS_BEARER } from '../protocol/messages';
import type { Store, Token } from './store/index';

export type Scope = 'worker' | 'researcher' | 'operator';
export const SCOPES = ['worker', 'researcher', 'operator'] as const satisfies readonly Scope[];

export interface Principal {
  tokenId: number;
  name: string;
  scopes: Set<Scope>;
}

/** Tokens are shown once and stored only as their SHA-256. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const newToken = () => `gt_${randomBytes(24).toString('base64url')}`;

/**
 * The bearer token of a request: the Authorization header, or on a WebSocket upgrade (browsers cannot set its
 * headers) a `grid.bearer.<token>` subprotocol. Never a URL query: URLs end up in logs and browser history.
 */
export const bearerToken = (authorization: string | undefined, wsProtocols = ''): string | undefined =>
  authorization?.replace(/^Bearer\s+/i, '') ||
  wsProtocols
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(WS_BEARER))
    ?.slice(WS_BEARER.length) ||
  undefined;

const CACHE_MS = 5000;
/** Known tokens kept in memory at most; unknown ones are never cached. */
const MAX_CACHED = 10_000;
/** Unknown-token lookups an address may make per minute before it is refused without touching the store. */
const GUESSES_PER_MIN = 60;
const MAX_BUCKETS = 50_000;

/** Token lookup with a short cache of known tokens, scope checks (operator implies every scope) and rate limits. */
export class Auth {
  private readonly cache = new Map<string, { token: Token; at: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number; perMin: number }>();
  private readonly revokeListeners: ((tokenId: number) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(name: string, scopes: Scope[], ratePerMin = 600, expiresAt: number | null = null): Promise<{ id: number; token: string }> {
    for (const s of scopes) if (!SCOPES.includes(s)) throw new GridError('BAD_REQUEST', `unknown scope ${s}`);
    const token = newToken();
    const id = await this.store.createToken({ name, hash: hashToken(token), scopes, ratePerMin, expiresAt });
    return { id, token };
  }

  /** Called with a token's id the moment it is revoked (the worker socket closes its connections). */
  onRevoke(listener: (tokenId: number) => void) {
    this.revokeListeners.push(listener);
  }

  /** Register a token chosen by the operator (GRID_OPERATOR_TOKEN) if it is not already known. */
  async ensure(token: string, name: string, scopes: Scope[]) {
    if (!(await this.store.tokenByHash(hashToken(token)))) await this.store.createToken({ name, hash: hashToken(token), scopes, ratePerMin: 6000 });
  }

  async revoke(id: number) {
    const ok = await this.store.revokeToken(id);
    this.cache.clear();
    if (ok) for (const l of this.revokeListeners) l(id);
    return ok;
  }

  /** Resolve a bearer token, check its scope and charge one request to its rate limit. */
  async authenticate(token: string | undefined, need: Scope, ip = 'unknown'): Promise<Principal> {
    if (!token) throw new GridError('UNAUTHORIZED', 'an API token is required');
    const hash = hashToken(token);
    let row = this.cached(hash);
    if (!row) {
      // An address guessing tokens is stopped before each guess costs a database query.
      if (this.bucketEmpty(`guess:${ip}`)) throw new GridError('RATE_LIMITED', 'too many unknown tokens from this address');
      row = await this.store.tokenByHash(hash);
      if (!row) {
        this.charge(`guess:${ip}`, GUESSES_PER_MIN);
        throw new GridError('UNAUTHORIZED', 'unknown or revoked token');
      }
      this.remember(hash, row);
      this.store.touchToken(row.id).catch(() => {}); // last use, at most once per cache period
    }
    if (row.expires_at !== null && row.expires_at <= this.now()) throw new GridError('UNAUTHORIZED', 'token has expired');
    const scopes = new Set(row.scopes.split(',').filter(Boolean) as Scope[]);
    if (!scopes.has(need) && !scopes.has('operator')) throw new GridError('FORBIDDEN', `token lacks the "${need}" scope`);
    this.charge(`t${row.id}`, row.rate_per_min);
    return { tokenId: row.id, name: row.name, scopes };
  }

  private cached(hash: string): Token | undefined {
    const hit = this.cache.get(hash);
    if (hit && this.now() - hit.at <= CACHE_MS) return hit.token;
    this.cache.delete(hash);
    return undefined;
  }

  private remember(hash: string, token: Token) {
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string); // oldest first
    this.cache.set(hash, { token, at: this.now() });
  }

  private refill(bucket: string, perMin: number) {
    const now = this.now();
    const b = this.buckets.get(bucket) ?? { tokens: perMin, at: now, perMin };
    b.tokens = Math.min(perMin, b.tokens + ((now - b.at) / 60_000) * perMin);
    b.at = now;
    return b;
  }

  private bucketEmpty(bucket: string) {
    return this.buckets.has(bucket) && this.refill(bucket, (this.buckets.get(bucket) as { perMin: number }).perMin).tokens < 1;
  }

  /** Token bucket: `perMin` requests a minute with a burst of the same size. */
  charge(bucket: string, perMin: number) {
    const b = this.refill(bucket, perMin);
    if (b.tokens < 1) throw new GridError('RATE_LIMITED', `rate limit of ${perMin}/min exceeded`);
    b.tokens -= 1;
    this.buckets.set(bucket, b);
    if (this.buckets.size > MAX_BUCKETS) this.pruneBuckets();
  }

  /** A full bucket is the same as no bucket: drop those. */
  private pruneBuckets() {
    for (const [key, b] of this.buckets) if (this.refill(key, b.perMin).tokens >= b.perMin) this.buckets.delete(key);
  }

  /** Sizes of the in-memory maps, for tests and /metrics. */
  get footprint() {
    return { cachedTokens: this.cache.size, buckets: this.buckets.size };
  }
}
