import type { Selectable } from 'kysely';
import { insertId, QueryGroup } from './query-group';
import type { TokenTable } from './schema';

export type Token = Selectable<TokenTable>;

/** Tokens and the audit log: the operator's side of the store. */
export class AdminQueries extends QueryGroup {
  // Tokens
  async createToken(t: { name: string; hash: string; scopes: string[]; ratePerMin: number; expiresAt?: number | null }): Promise<number> {
    const r = await this.db
      .insertInto('tokens')
      .values({
        name: t.name,
        hash: t.hash,
        scopes: t.scopes.join(','),
        rate_per_min: t.ratePerMin,
        created_at: this.now(),
        revoked_at: null,
        expires_at: t.expiresAt ?? null,
      })
      .executeTakeFirstOrThrow();
    return insertId(r);
  }
  /** A live token: not revoked, not expired. */
  tokenByHash(hash: string) {
    return this.db
      .selectFrom('tokens')
      .selectAll()
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.now())]))
      .executeTakeFirst();
  }
  async touchToken(id: number) {
    await this.db.updateTable('tokens').set({ last_used_at: this.now() }).where('id', '=', id).execute();
  }
  /** The name a token was issued under (a job's owner, as volunteers see it). */
  async tokenName(id: number | null): Promise<string | undefined> {
    if (id === null) return undefined;
    return (await this.db.selectFrom('tokens').select('name').where('id', '=', id).executeTakeFirst())?.name;
  }
  listTokens() {
    return this.db
      .selectFrom('tokens')
      .select(['id', 'name', 'scopes', 'rate_per_min', 'created_at', 'revoked_at', 'expires_at', 'last_used_at'])
      .orderBy('id')
      .execute();
  }
  async revokeToken(id: number): Promise<boolean> {
    const r = await this.db.updateTable('tokens').set({ revoked_at: this.now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // Audit
  async audit(actor: string, action: string, target: string, detail: unknown = {}) {
    await this.db
      .insertInto('audit_events')
      .values({ at: this.now(), actor, action, target, detail: JSON.stringify(detail) })
      .execute();
  }
  auditEvents(limit = 100) {
    return this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }
}
