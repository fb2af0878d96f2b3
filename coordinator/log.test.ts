import { describe, expect, it } from 'vitest';
import { createLogger } from './log';

describe('the coordinator log', () => {
  it('writes one JSON line per event with its level, message and fields, below the level nothing, secrets redacted', () => {
    const lines: string[] = [];
    const log = createLogger('info', (s) => lines.push(s));
    log.debug('round closed', { job: 1 });
    log.info('token issued', { job: 3, authorization: 'Bearer gt_secret', detail: { token: 'gt_other' } });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ level: 'info', msg: 'token issued', job: 3, authorization: '[redacted]', detail: { token: '[redacted]' } });
    expect(Date.parse(line.t)).toBeGreaterThan(0);
    expect(lines[0]).not.toContain('gt_');
  });
});
