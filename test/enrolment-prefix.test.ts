import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startCoordinator } from '../coordinator/server';
import { type EnrolmentPuzzle, solvePuzzle } from '../protocol/proof-of-work';
import { startTestCoordinator, tempDir } from './helpers';

// Enrolment bounded by network: many addresses of one /24 mint no more tokens than the prefix allows, while another
// network is not held back. Loopback is a /8 on Linux, so the client binds source addresses of its choosing.
describe('anonymous enrolment, per network', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-enrol-'), 'op-enrol-test-token-123456', {
      enrolment: true,
      limits: { enrolPerMinute: 100, enrolPerPrefixPerMinute: 3, enrolProofBits: 12 },
    });
  });
  afterAll(() => coord?.close());

  /** POST /api/enrol from a source address of our choosing, with this body; the status and the refusal's code. */
  const post = (localAddress: string, body = '') =>
    new Promise<{ status: number; code?: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: coord.port, path: '/api/enrol', method: 'POST', localAddress }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.statusCode === 201 ? undefined : JSON.parse(text).error?.code }));
      });
      req.on('error', reject);
      req.end(body);
    });
  /** Enrol as the volunteer page does: the puzzle fetched and solved first. */
  const enrolFrom = async (localAddress: string) => {
    const puzzle = (await (await fetch(`http://127.0.0.1:${coord.port}/api/enrol/challenge`)).json()) as EnrolmentPuzzle;
    return (await post(localAddress, JSON.stringify({ challenge: puzzle.challenge, nonce: await solvePuzzle(puzzle) }))).status;
  };

  it('refuses an enrolment without its proof of work, spending none of the network’s allowance', async () => {
    for (let i = 0; i < 5; i++) expect(await post('127.0.7.2')).toEqual({ status: 403, code: 'PROOF_REQUIRED' });
    expect(await post('127.0.7.3', JSON.stringify({ challenge: 'made.up.here', nonce: '1' }))).toEqual({ status: 403, code: 'PROOF_REQUIRED' });
    expect(await enrolFrom('127.0.7.4')).toBe(201); // the /24's three a minute are all still there
  });

  it('five addresses of one /24 get three tokens; an address of another /24 still gets one', async () => {
    const codes: number[] = [];
    for (let i = 2; i < 7; i++) codes.push(await enrolFrom(`127.0.5.${i}`));
    expect(codes).toEqual([201, 201, 201, 429, 429]);
    expect(await enrolFrom('127.0.6.2')).toBe(201);
  });
});
