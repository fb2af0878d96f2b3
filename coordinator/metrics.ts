import { readFileSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The parts of a round's close that are timed (grid_round_close_part_seconds); a judged round's judging in three. */
export type CloseStage = 'judge' | 'reference' | 'checks' | 'held-out' | 'combine' | 'step' | 'store';

/**
 * Every metric the coordinator exports, declared once. One registry per coordinator (tests run several in one
 * process); prom-client adds the process metrics, event-loop lag among them (aggregation runs on the main thread).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];

  readonly workersConnected = new Gauge({ name: 'grid_workers_connected', help: 'Workers connected now', registers: this.r });
  readonly shardsAssigned = new Counter({ name: 'grid_shards_assigned_total', help: 'Shards leased to workers', registers: this.r });
  readonly leasesEnded = new Counter({ name: 'grid_leases_ended_total', help: 'Leases that ended without a result', labelNames: ['state'], registers: this.r });
  readonly results = new Counter({ name: 'grid_results_total', help: 'Results received', labelNames: ['accepted', 'code'], registers: this.r });
  readonly resultBytes = new Counter({
    name: 'grid_result_bytes_total',
    help: 'Payload bytes of accepted results',
    labelNames: ['encoding'],
    registers: this.r,
  });
  readonly rounds = new Counter({ name: 'grid_rounds_total', help: 'Rounds closed', registers: this.r });
  readonly roundCloseSeconds = new Histogram({
    name: 'grid_round_close_seconds',
    help: 'Time to combine a round, step the optimizer and record it',
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
    registers: this.r,
  });
  readonly roundClosePartSeconds = new Histogram({
    name: 'grid_round_close_part_seconds',
    help: 'Each part of a round close: judging, combining, the optimizer step, the store (its results with it), publishing',
    labelNames: ['part'],
    buckets: [0.0001, 0.0005, 0.002, 0.01, 0.05, 0.5, 5],
    registers: this.r,
  });
  readonly backups = new Counter({
    name: 'grid_backup_leases_total',
    help: 'Backup leases of late shards given to idle workers (the first valid result wins)',
    registers: this.r,
  });
  readonly rechecks = new Counter({
    name: 'grid_rechecks_total',
    help: 'Results computed again as checks because their worker was outvoted elsewhere',
    registers: this.r,
  });
  readonly trustedSteps = new Counter({
    name: 'grid_trusted_steps_total',
    help: 'Judged rounds by what the model was stepped on: combined, without-lowest, reference or reset; none for a round computed on a step undone (undone: published before its held-out check, which failed)',
    labelNames: ['on'],
    registers: this.r,
  });
  readonly judgedResults = new Counter({
    name: 'grid_judged_results_total',
    help: 'Results judged against the reference: full (weighed fully), partial, none (against it), and clipped to their bound',
    labelNames: ['weight'],
    registers: this.r,
  });
  readonly quarantines = new Counter({ name: 'grid_workers_quarantined_total', help: 'Workers quarantined for bad results', registers: this.r });
  readonly jobsFailed = new Counter({ name: 'grid_jobs_failed_total', help: 'Jobs marked failed', labelNames: ['stage'], registers: this.r });
  readonly httpRequests = new Counter({
    name: 'grid_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: this.r,
  });
  readonly httpSeconds = new Histogram({ name: 'grid_http_seconds', help: 'Time spent in HTTP handlers', labelNames: ['route'], registers: this.r });
  readonly wsMessages = new Counter({ name: 'grid_ws_messages_total', help: 'Worker messages received', labelNames: ['binary'], registers: this.r });
  readonly wsRefusals = new Counter({ name: 'grid_ws_refusals_total', help: 'Worker messages refused', labelNames: ['code'], registers: this.r });

  readonly buildInfo = new Gauge({ name: 'grid_build_info', help: 'The coordinator build: always 1', labelNames: ['version', 'node'], registers: this.r });
  // Per job, while it runs (removed when it ends): its round, the last round's training loss, samples computed.
  readonly jobRound = new Gauge({ name: 'grid_job_round', help: 'Rounds a job has closed', labelNames: ['job'], registers: this.r });
  readonly jobLoss = new Gauge({ name: 'grid_job_train_loss', help: "The last closed round's training loss", labelNames: ['job'], registers: this.r });
  readonly jobSamples = new Counter({ name: 'grid_job_samples_total', help: 'Samples a job has combined into steps', labelNames: ['job'], registers: this.r });
  readonly jobBytes = new Counter({
    name: 'grid_job_bytes_total',
    help: 'Bytes a job moved (up: from workers; down: to them)',
    labelNames: ['job', 'direction'],
    registers: this.r,
  });
  readonly jobRefusals = new Counter({
    name: 'grid_job_refusals_total',
    help: "A job's refused results, by code",
    labelNames: ['job', 'code'],
    registers: this.r,
  });
  /** The refusal codes each job's series has, so they go with it. */
  private readonly refusalCodes = new Map<number, Set<string>>();
  /** The running jobs' current rounds and the workers that may run each, as the scheduler sees them (set by it). */
  jobsNow: () => { id: number; shards: readonly { state: string }[]; eligible: number }[] = () => [];
  readonly jobShards = new Gauge({
    name: 'grid_job_shards',
    help: "The current round's shards by state (pending, leased, done)",
    labelNames: ['job', 'state'],
    registers: this.r,
    collect: () => this.readJobs(), // at each scrape: the scheduler's own view, never stale
  });
  readonly jobWorkers = new Gauge({ name: 'grid_job_workers', help: 'Connected workers that may run the job', labelNames: ['job'], registers: this.r });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: VERSION, node: process.version }, 1);
  }

  /** Run one asynchronous part of a round close, timed into grid_round_close_part_seconds. */
  async closePart<T>(part: CloseStage, f: () => T | Promise<T>): Promise<T> {
    const end = this.roundClosePartSeconds.startTimer({ part });
    try {
      return await f();
    } finally {
      end();
    }
  }

  /** A job's round closed: its per-job series move. */
  roundClosed(job: number, round: number, loss: number, samples: number) {
    const labels = { job: String(job) };
    this.rounds.inc();
    this.jobRound.set(labels, round);
    if (Number.isFinite(loss)) this.jobLoss.set(labels, loss);
    this.jobSamples.inc(labels, samples);
  }

  /** A job ended: its series go, so a long-lived coordinator does not keep one per job it ever ran. */
  jobEnded(job: number) {
    for (const m of [this.jobRound, this.jobLoss, this.jobSamples]) m.remove({ job: String(job) });
    for (const direction of ['up', 'down']) this.jobBytes.remove({ job: String(job), direction });
    for (const code of this.refusalCodes.get(job) ?? []) this.jobRefusals.remove({ job: String(job), code });
    this.refusalCodes.delete(job);
  }

  /** A result of the job refused (or set aside) with `code`. */
  jobRefused(job: number, code: string, count = 1) {
    this.jobRefusals.inc({ job: String(job), code }, count);
    this.refusalCodes.set(job, (this.refusalCodes.get(job) ?? new Set()).add(code));
  }

  private readJobs() {
    this.jobShards.reset();
    this.jobWorkers.reset();
    for (const j of this.jobsNow()) {
      const job = String(j.id);
      for (const state of ['pending', 'leased', 'done']) this.jobShards.set({ job, state }, j.shards.filter((s) => s.state === state).length);
      this.jobWorkers.set({ job }, j.eligible);
    }
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType() {
    return this.registry.contentType;
  }
}
