import { createHash, randomBytes } from 'node:crypto';
import { GridError } from '../protocol/errors';
import type { Store, Token } from './store/index';

export type Scope = 'worker' | 'researcher' | 'operator';
export const SCOPES: Scope[] = ['worker', 'researcher', 'operator'];

export interface Principal {
  tokenId: number;
  name: string;
  scopes: Set<Scope>;
}

/** Tokens are shown once and stored only as their SHA-256. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const newToken = () => `gt_${randomBytes(24).toString('base64url')}`;

/** Token lookup with a short cache, scope checks (operator implies every scope) and per-token rate limits. */
export class Auth {
  private readonly cache = new Map<string, { token: Token | undefined; at: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(name: string, scopes: Scope[], ratePerMin = 600): Promise<{ id: number; token: string }> {
    for (const s of scopes) if (!SCOPES.includes(s)) throw new GridError('BAD_REQUEST', `unknown scope ${s}`);
    const token = newToken();
    const id = await this.store.createToken({ name, hash: hashToken(token), scopes, ratePerMin });
    return { id, token };
  }

  /** Register a token chosen by the operator (GRID_OPERATOR_TOKEN) if it is not already known. */
  async ensure(token: string, name: string, scopes: Scope[]) {
    if (!(await this.store.tokenByHash(hashToken(token)))) await this.store.createToken({ name, hash: hashToken(token), scopes, ratePerMin: 6000 });
  }

  async revoke(id: number) {
    const ok = await this.store.revokeToken(id);
    this.cache.clear();
    return ok;
  }

  /** Resolve a bearer token, check its scope and charge one request to its rate limit. */
  async authenticate(token: string | undefined, need: Scope): Promise<Principal> {
    if (!token) throw new GridError('UNAUTHORIZED', 'an API token is required', 401);
    const hash = hashToken(token);
    let hit = this.cache.get(hash);
    if (!hit || this.now() - hit.at > 5000) {
      hit = { token: await this.store.tokenByHash(hash), at: this.now() };
      this.cache.set(hash, hit);
    }
    const row = hit.token;
    if (!row) throw new GridError('UNAUTHORIZED', 'unknown or revoked token', 401);
    const scopes = new Set(row.scopes.split(',').filter(Boolean) as Scope[]);
    if (!scopes.has(need) && !scopes.has('operator')) throw new GridError('FORBIDDEN', `token lacks the "${need}" scope`, 403);
    this.charge(`t${row.id}`, row.rate_per_min);
    return { tokenId: row.id, name: row.name, scopes };
  }

  /** Token bucket: `perMin` requests a minute with a burst of the same size. */
  charge(bucket: string, perMin: number) {
    const now = this.now();
    const b = this.buckets.get(bucket) ?? { tokens: perMin, at: now };
    b.tokens = Math.min(perMin, b.tokens + ((now - b.at) / 60_000) * perMin);
    b.at = now;
    if (b.tokens < 1) throw new GridError('RATE_LIMITED', `rate limit of ${perMin}/min exceeded`, 429);
    b.tokens -= 1;
    this.buckets.set(bucket, b);
  }
}
