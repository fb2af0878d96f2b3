/** What the pace is read from: a job as the API gives it. */
export interface Progress {
  state: string;
  round: number;
  totalRounds: number;
  createdAt: number;
  updatedAt: number;
  spec: { mode?: string; globalBatch?: number; shardSize?: number; local?: unknown };
}

/**
 * A job's samples per second and time left: over its last rounds when their metric points are given (`recent`),
 * else from its age and progress, a job that stopped (done, failed, paused, cancelled) timed up to when it stopped,
 * so its speed does not fall on every poll after.
 */
export function jobPace(j: Progress, now: number, recent: RoundTime[] = []) {
  const window = recentWindow(recent);
  const perRound = samplesPerRound(j);
  if (window) {
    // Measured over the last rounds' timestamps: a queue before the start or a pause does not drag it down.
    const perSecond = window.rounds / window.seconds;
    return { rate: perSecond * perRound, eta: j.state === 'running' ? (j.totalRounds - j.round) / perSecond : undefined };
  }
  const end = j.state === 'running' || j.state === 'queued' ? now : j.updatedAt;
  const seconds = Math.max(1e-3, (end - j.createdAt) / 1000);
  const rate = j.round > 0 ? (j.round * perRound) / seconds : 0;
  const eta = j.round > 0 && j.state === 'running' ? ((j.totalRounds - j.round) * seconds) / j.round : undefined;
  return { rate, eta };
}

/** When a round's training metric was recorded (a metric point's round and time). */
export interface RoundTime {
  round: number;
  at: number;
}

/** Rounds a job's latest points span (up to `size` of them), and the seconds they took; none below two points. */
function recentWindow(points: RoundTime[], size = 20) {
  const last = points.slice(-size);
  if (last.length < 2) return undefined;
  const [first, end] = [last[0], last[last.length - 1]];
  const seconds = (end.at - first.at) / 1000;
  return seconds > 0 && end.round > first.round ? { rounds: end.round - first.round, seconds } : undefined;
}

/** Samples a round of `j` trains on (or infers, a shard of an inference job). */
function samplesPerRound(j: Progress) {
  const steps = (j.spec.local as { steps?: number } | undefined)?.steps ?? 1;
  return j.spec.mode === 'inference' ? (j.spec.shardSize ?? 0) : (j.spec.globalBatch ?? 0) * steps;
}

/** Samples per second between consecutive rounds' points: throughput over a run, to chart. */
export function throughput(j: Progress, points: RoundTime[]): { x: number; y: number }[] {
  const perRound = samplesPerRound(j);
  const out: { x: number; y: number }[] = [];
  for (let i = 1; i < points.length; i++) {
    const seconds = (points[i].at - points[i - 1].at) / 1000;
    if (seconds > 0 && points[i].round > points[i - 1].round)
      out.push({ x: points[i].round, y: ((points[i].round - points[i - 1].round) * perRound) / seconds });
  }
  return out;
}
