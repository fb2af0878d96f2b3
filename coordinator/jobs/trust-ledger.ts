/**
 * The spans of a worker's recent cosines its direction is judged over: the short one follows a worker that turns, the
 * long one catches a steady puller whose cosines are too mildly negative for 16 results ever to show it (three standard
 * errors of 16 need a mean under -0.25; CI saw a local-step sign-flipper stand through a whole 60-round job).
 */
const SPANS = [16, 64];
const WINDOW = Math.max(...SPANS);
/** Results before a worker's direction is judged at all: one unlucky small batch is no evidence. */
const MIN_RESULTS = 8;
/**
 * How far below zero, and how surely, a worker's recent cosines must be to hold it: their mean plus three standard
 * errors under -0.1, the spread taken as at least 0.2 (a window's own estimate is unreliable: six values that happened
 * to lie close together fired the old rule). Asked every round over a sliding window, a rule of two errors at zero held
 * an honest worker on a settled model (cosines around zero) sooner or later; this one, over both spans, held 4 of 200
 * simulated such workers within 2,000 results (spread 0.3), as over 16 alone, and pullers of spread 0.12 after a median
 * of 9 results at a mean cosine of -0.3, 24 at -0.22 (30 over 16 alone), 34 at -0.2 (92).
 */
const PULL = { errors: 3, below: 0.1, minSpread: 0.2 };
/** Verified results before an identity weighs as much as any: a swarm of fresh ones weighs less than one known. */
export const FULL_STANDING = 20;

/** The least fraction of an established volunteer's results the coordinator recomputes: a liar cannot count on luck. */
export const MIN_CHECK_RATE = 0.05;

/** Where verified counts outlive this process: the store, shared by every coordinator on it. */
export interface StandingStore {
  verifiedCounts(ids: string[]): Promise<Map<string, number>>;
  addVerified(id: string): Promise<void>;
  /** A result of the worker was found wrong: its standing starts again from nothing. */
  resetVerified(id: string): Promise<void>;
}

interface Entry {
  cosines: number[];
  verified: number;
}

/**
 * What this coordinator has seen of each worker, across its jobs of every kind: the cosines of its recent training
 * results against the reference and how many of its results a recomputation verified (training/spot-check.ts,
 * inference/referee.ts). Evidence is about the worker alone: an honest gradient over 32 samples points away from
 * a 128-sample reference one time in seven (measured on the Fashion-MNIST MLP), so one result proves nothing, but a
 * worker whose recent cosines are below zero with confidence is pulling against the operator's data.
 */
export class TrustLedger {
  private readonly entries = new Map<string, Entry>();
  /** Results already recorded, and already spot-checked: a reopened round is judged again, its results once. */
  private readonly recorded = new RecentIds();
  private readonly checkedResults = new RecentIds();

  private entry(workerId: string): Entry {
    const e = this.entries.get(workerId) ?? { cosines: [], verified: 0 };
    this.entries.set(workerId, e);
    return e;
  }

  record(workerId: string, cosine: number, resultId: number) {
    if (!this.recorded.add(resultId)) return;
    const e = this.entry(workerId);
    e.cosines.push(cosine);
    if (e.cosines.length > WINDOW) e.cosines.shift();
  }

  /** Take the standing on record for workers this coordinator has not seen yet (after a restart, or another's). */
  async recall(workerIds: string[], store: StandingStore) {
    const unseen = [...new Set(workerIds)].filter((id) => !this.entries.has(id));
    const counts = await store.verifiedCounts(unseen);
    for (const id of unseen) if (!this.entries.has(id)) this.entry(id).verified = counts.get(id) ?? 0;
  }

  /**
   * A result of the worker the coordinator recomputed: found right, its standing grows, here and on record; found
   * wrong, it is lost, so a liar who earned standing first is checked as a stranger again.
   */
  async checked(resultId: number, workerId: string, right: boolean, store?: StandingStore) {
    this.checkedResults.add(resultId);
    const e = this.entry(workerId);
    e.verified = right ? e.verified + 1 : 0;
    await (right ? store?.addVerified(workerId) : store?.resetVerified(workerId));
  }

  /** Checked already (its round was reopened and is closing again). */
  wasChecked(resultId: number) {
    return this.checkedResults.has(resultId);
  }

  /** In (0, 1]: a fresh identity starts at 1 / FULL_STANDING. */
  standing(workerId: string): number {
    return Math.min(1, (1 + (this.entries.get(workerId)?.verified ?? 0)) / FULL_STANDING);
  }

  /**
   * The chance a result of the worker is recomputed: every result until one is verified (an identity made afresh for
   * each lie is always caught), then less as standing grows, down to MIN_CHECK_RATE at full standing.
   */
  checkRate(workerId: string): number {
    if (!this.entries.get(workerId)?.verified) return 1;
    return Math.max(MIN_CHECK_RATE, 1 - this.standing(workerId));
  }

  /** The worker's recent cosines, over either span, are confidently below zero (PULL). */
  pullsAgainst(workerId: string): boolean {
    const xs = this.entries.get(workerId)?.cosines ?? [];
    return xs.length >= MIN_RESULTS && SPANS.some((span) => confidentlyBelow(xs.slice(-span)));
  }

  /** A quarantined or forgotten worker's record goes. */
  forget(workerId: string) {
    this.entries.delete(workerId);
  }
}

function confidentlyBelow(xs: number[]): boolean {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  const spread = Math.max(Math.sqrt(variance), PULL.minSpread);
  return mean + (PULL.errors * spread) / Math.sqrt(xs.length) < -PULL.below;
}

/** The last 100,000 result ids seen (ids only grow: older ones belong to closed rounds). */
class RecentIds {
  private readonly ids = new Set<number>();

  /** False when `id` was already there. */
  add(id: number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > 100_000) this.ids.delete(this.ids.values().next().value as number);
    return true;
  }

  has(id: number) {
    return this.ids.has(id);
  }
}
