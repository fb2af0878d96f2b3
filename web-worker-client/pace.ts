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
 * A job's samples per second and time left, from its age and progress; a job that stopped (done, failed, paused,
 * cancelled) is timed up to when it stopped, so its speed does not fall on every poll after.
 */
export function jobPace(j: Progress, now: number) {
  const end = j.state === 'running' || j.state === 'queued' ? now : j.updatedAt;
  const seconds = Math.max(1e-3, (end - j.createdAt) / 1000);
  const steps = (j.spec.local as { steps?: number } | undefined)?.steps ?? 1;
  const perRound = j.spec.mode === 'inference' ? (j.spec.shardSize ?? 0) : (j.spec.globalBatch ?? 0) * steps;
  const rate = j.round > 0 ? (j.round * perRound) / seconds : 0;
  const eta = j.round > 0 && j.state === 'running' ? ((j.totalRounds - j.round) * seconds) / j.round : undefined;
  return { rate, eta };
}
