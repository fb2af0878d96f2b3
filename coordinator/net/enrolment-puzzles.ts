import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GridError } from '../../protocol/errors';
import { type EnrolmentPuzzle, solves } from '../../protocol/proof-of-work';

/** How long a challenge may be worked on before it is redeemed. */
const TTL_MS = 10 * 60_000;

/**
 * Proof-of-work puzzles for anonymous enrolment, stateless until redeemed: a challenge is an expiry, a random part
 * and this coordinator's MAC over both and the difficulty, so none is stored when handed out; a redeemed one is
 * remembered until it expires, so each buys one token. `bits` 0 asks for no work.
 */
export class EnrolmentPuzzles {
  private readonly secret = randomBytes(32);
  private readonly redeemed = new Map<string, number>();

  constructor(
    readonly bits: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): EnrolmentPuzzle {
    const expiresAt = this.now() + TTL_MS;
    const body = `${expiresAt}.${randomBytes(12).toString('hex')}`;
    return { challenge: `${body}.${this.mac(body)}`, bits: this.bits, expiresAt };
  }

  /** Accept a solved challenge once; throws PROOF_REQUIRED naming what is wrong. */
  redeem(proof: { challenge?: string; nonce?: string } | undefined) {
    if (this.bits === 0) return;
    const refuse = (why: string) => new GridError('PROOF_REQUIRED', `${why}: GET /api/enrol/challenge, solve it, and post {challenge, nonce}`);
    if (!proof?.challenge || proof.nonce === undefined) throw refuse('enrolment here costs a proof of work');
    const parts = proof.challenge.split('.');
    if (parts.length !== 3 || !this.macMatches(`${parts[0]}.${parts[1]}`, parts[2])) throw refuse('this challenge was not issued here');
    const now = this.now();
    if (!(Number(parts[0]) > now)) throw refuse('this challenge has expired');
    if (this.redeemed.has(proof.challenge)) throw refuse('this challenge was already redeemed');
    if (proof.nonce.length > 64 || !solves(proof.challenge, proof.nonce, this.bits)) throw refuse(`the nonce does not give ${this.bits} leading zero bits`);
    for (const [c, expires] of this.redeemed) if (expires <= now) this.redeemed.delete(c);
    this.redeemed.set(proof.challenge, Number(parts[0]));
  }

  private mac(body: string) {
    return createHmac('sha256', this.secret).update(`${body}.${this.bits}`).digest('hex').slice(0, 32);
  }

  private macMatches(body: string, mac: string) {
    const want = Buffer.from(this.mac(body));
    const got = Buffer.from(mac);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
