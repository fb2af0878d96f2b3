import type { EnrolmentPuzzle } from '../protocol/proof-of-work';

/**
 * Anonymous enrolment, for the browser and the native worker alike: fetch the coordinator's puzzle, have `solve`
 * find a nonce when it asks for work (bits 0 asks for none), and post it. Returns the coordinator's answer as is.
 */
export async function enrolAnonymously(base: string, solve: (p: EnrolmentPuzzle) => Promise<string>): Promise<Response> {
  const asked = await fetch(`${base}/api/enrol/challenge`);
  if (!asked.ok) return asked;
  const puzzle = (await asked.json()) as EnrolmentPuzzle;
  if (puzzle.bits === 0) return fetch(`${base}/api/enrol`, { method: 'POST' });
  const nonce = await solve(puzzle);
  return fetch(`${base}/api/enrol`, {
    method: 'POST',
    body: JSON.stringify({ challenge: puzzle.challenge, nonce }),
    headers: { 'content-type': 'application/json' },
  });
}
