import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startCoordinator } from '../coordinator/server';
import { startTestCoordinator, tempDir } from './helpers';

// Enrolment bounded by network: many addresses of one /24 mint no more tokens than the prefix allows, while another
// network is not held back. Loopback is a /8 on Linux, so the client binds source addresses of its choosing.
describe('anonymous enrolment, per network', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-enrol-'), 'op-enrol-test-token-123456', {
      enrolment: true,
      limits: { enrolPerMinute: 100, enrolPerPrefixPerMinute: 3 },
    });
  });
  afterAll(() => coord?.close());

  const enrolFrom = (localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: coord.port, path: '/api/enrol', method: 'POST', localAddress }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('five addresses of one /24 get three tokens; an address of another /24 still gets one', async () => {
    const codes: number[] = [];
    for (let i = 2; i < 7; i++) codes.push(await enrolFrom(`127.0.5.${i}`));
    expect(codes).toEqual([201, 201, 201, 429, 429]);
    expect(await enrolFrom('127.0.6.2')).toBe(201);
  });
});
