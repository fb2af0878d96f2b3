/** One line of a run's log: when, and what happened. */
export interface LogLine {
  at: number;
  kind: 'job' | 'evaluation' | 'refusal';
  text: string;
}

const FINISHED = new Set(['done', 'failed', 'cancelled']);

/**
 * A run's log, newest first: its submission and end, each evaluation (the test metrics recorded at a round, on one
 * line), and each refused result with its code. Built from what the console already polls.
 */
export function runLog(
  job: { createdAt: number; updatedAt: number; state: string; error: string | null; round: number },
  metrics: readonly { round: number; name: string; value: number; at: number }[],
  refusals: readonly { createdAt: number; round: number; shard: number; reason: string; workerId: string }[],
  limit = 100,
): LogLine[] {
  const lines: LogLine[] = [{ at: job.createdAt, kind: 'job', text: 'submitted' }];
  if (FINISHED.has(job.state)) lines.push({ at: job.updatedAt, kind: 'job', text: `${job.state} at round ${job.round}${job.error ? `: ${job.error}` : ''}` });
  const evaluations = new Map<number, { at: number; parts: string[] }>();
  for (const m of metrics) {
    if (!m.name.startsWith('test_')) continue;
    const e = evaluations.get(m.round) ?? { at: m.at, parts: [] };
    e.parts.push(`${m.name} ${Number(m.value.toPrecision(4))}`);
    evaluations.set(m.round, e);
  }
  for (const [round, e] of evaluations) lines.push({ at: e.at, kind: 'evaluation', text: `round ${round}: ${e.parts.join(', ')}` });
  for (const r of refusals)
    lines.push({ at: r.createdAt, kind: 'refusal', text: `round ${r.round} shard ${r.shard} from ${r.workerId.slice(0, 8)} refused: ${r.reason}` });
  return lines.sort((a, b) => b.at - a.at).slice(0, limit);
}
