import { describe, expect, it } from 'vitest';
import { spawnTs } from '../test/helpers';

describe('grid-worker CLI', () => {
  it('refuses a concurrency that is not a whole number, naming the flag, instead of idling with slots: null', async () => {
    const p = spawnTs('native-worker/cli.ts', ['--backend', 'cpu', '--concurrency', 'two', '--coordinator', 'http://127.0.0.1:9']);
    expect(await p.exited).toBe(1);
    expect(p.output.join('\n')).toMatch(/--concurrency must be a whole number from 1 to 64, not \\"two\\"/);
  });
});
