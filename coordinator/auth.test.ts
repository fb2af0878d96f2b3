import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Auth } from './auth';
import { openStore, type Store } from './store/index';

describe('auth', () => {
  let store: Store;
  let clock = 0;
  let auth: Auth;
  beforeEach(async () => {
    clock = 1_000_000;
    store = await openStore(':memory:');
    auth = new Auth(store, () => clock);
  });
  afterEach(() => store.close());

  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'OK',
      (e) => e.code,
    );

  it('checks scopes: operator implies every scope, the others only their own', async () => {
    const op = await auth.issue('op', ['operator']);
    const res = await auth.issue('res', ['researcher']);
    const wk = await auth.issue('wk', ['worker']);
    expect(await code(auth.authenticate(op.token, 'worker'))).toBe('OK');
    expect(await code(auth.authenticate(op.token, 'researcher'))).toBe('OK');
    expect(await code(auth.authenticate(res.token, 'researcher'))).toBe('OK');
    expect(await code(auth.authenticate(res.token, 'operator'))).toBe('FORBIDDEN');
    expect(await code(auth.authenticate(wk.token, 'researcher'))).toBe('FORBIDDEN');
    expect(await code(auth.authenticate(undefined, 'worker'))).toBe('UNAUTHORIZED');
    await expect(auth.issue('x', ['root' as never])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('stops honouring a token the moment it is revoked', async () => {
    const t = await auth.issue('w', ['worker']);
    expect(await code(auth.authenticate(t.token, 'worker'))).toBe('OK');
    await auth.revoke(t.id);
    expect(await code(auth.authenticate(t.token, 'worker'))).toBe('UNAUTHORIZED');
  });

  it('rate-limits per token and refills with time', async () => {
    const t = await auth.issue('w', ['worker'], 3);
    for (let i = 0; i < 3; i++) expect(await code(auth.authenticate(t.token, 'worker'))).toBe('OK');
    expect(await code(auth.authenticate(t.token, 'worker'))).toBe('RATE_LIMITED');
    clock += 20_000; // a third of a minute: one request's worth
    expect(await code(auth.authenticate(t.token, 'worker'))).toBe('OK');
  });

  it('never caches unknown tokens, and refuses an address guessing them before it reaches the store', async () => {
    let lookups = 0;
    const byHash = store.tokenByHash.bind(store);
    store.tokenByHash = (h) => {
      lookups++;
      return byHash(h);
    };
    const codes: string[] = [];
    for (let i = 0; i < 100; i++) codes.push(await code(auth.authenticate(`gt_guess_${i}`, 'worker', '10.0.0.1')));
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(60);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(40);
    expect(lookups).toBe(60);
    expect(auth.footprint.cachedTokens).toBe(0);
    expect(await code(auth.authenticate('gt_guess_x', 'worker', '10.0.0.2'))).toBe('UNAUTHORIZED'); // another address is unaffected
  });
});
