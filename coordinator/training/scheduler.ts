import { GridError } from '../../protocol/errors';
import { type Frame, allFinite, decodeTensor, encodeFrame } from '../../protocol/frames';
import { type JobSpec, parseJobSpec, shardsPerRound, totalRounds } from '../../protocol/job';
import type { ClientMessage, ServerMessage } from '../../protocol/messages';
import { parameterCount } from '../../protocol/model';
import { initParams } from '../../kernels/models/index';
import { aggregate, clipByNorm, l2Norm } from './aggregate';
import { AggregationPool, sharedFloat32 } from './aggregate-pool';
import { readCheckpointFile, writeCheckpointFile } from './checkpoint';
import type { DatasetRegistry } from '../data/dataset-registry';
import { type Evaluator, evaluateOnCpu } from './evaluate';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { type OptimizerState, newOptimizerState, optimizerStep } from './optimizer';
import type { Job, Store } from '../store/index';

/** A connected worker as the scheduler sees it; the transport fills in `send`. */
export interface WorkerLink {
  id: string;
  name: string;
  kind: 'browser' | 'native';
  slots: number;
  leases: Set<number>;
  send(msg: ServerMessage): void;
}

interface ShardResult {
  values: Float32Array;
  samples: number;
  loss: number;
  correct: number;
}

interface Shard {
  index: number;
  cursor: number;
  count: number;
  lease?: { assignmentId: number; workerId: string; until: number };
  result?: ShardResult;
}

/** The live state of one job this coordinator owns. */
interface Run {
  id: number;
  spec: JobSpec;
  state: 'running' | 'paused';
  totalRounds: number;
  trainSamples: number;
  params: Float32Array;
  paramsFrame: Uint8Array;
  opt: OptimizerState;
  round: number;
  cursor: number;
  version: number;
  shards: Shard[];
  closing: boolean;
}

type Result = Extract<ClientMessage, { type: 'result' }>;

export interface SchedulerOptions {
  store: Store;
  datasets: DatasetRegistry;
  checkpointDir: string;
  log: Logger;
  metrics: Metrics;
  owner: string;
  evaluator?: Evaluator;
  now?: () => number;
}

/**
 * Synchronous data-parallel rounds: lease shards to workers, check and collect results, combine them in shard
 * order, step the optimizer, checkpoint. Transport-free: the server feeds it messages and gives it WorkerLinks.
 */
export class Scheduler {
  private readonly runs = new Map<number, Run>();
  private readonly workers = new Map<string, WorkerLink>();
  /** assignmentId -> where it points; kept after expiry so late results are recognised as stale. */
  private readonly assignments = new Map<number, { jobId: number; round: number; shard: number; workerId: string; live: boolean }>();
  private readonly now: () => number;
  private readonly evaluator: Evaluator;
  private timer?: NodeJS.Timeout;
  /** Resolves when background work (checkpoints, evaluations) settles; tests await it. */
  private pending = Promise.resolve();
  private readonly pool = new AggregationPool();
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? Date.now;
    this.evaluator = o.evaluator ?? evaluateOnCpu;
  }

  async start() {
    await this.claim();
    this.timer = setInterval(() => void this.tick().catch((e) => this.o.log.error('tick failed', { err: String(e) })), 1000);
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pending;
    this.pool.close();
  }

  /** Take ownership of jobs (new ones, or those of a coordinator whose lease expired) and load them. */
  async claim() {
    for (const job of await this.o.store.claimJobs(this.o.owner, 15_000)) if (!this.runs.has(job.id)) await this.load(job);
  }

  private async load(job: Job) {
    const spec = parseJobSpec(JSON.parse(job.spec));
    const train = this.o.datasets.get(spec.dataset.name, spec.dataset.split);
    const n = parameterCount(spec.model);
    let params = initParams(spec.model, spec.seed);
    let opt = newOptimizerState(n);
    let round = 0;
    let cursor = 0;
    let version = 0;
    const ckpt = await this.o.store.latestCheckpoint(job.id);
    if (ckpt) {
      const c = readCheckpointFile(ckpt.path, ckpt.sha256);
      ({ params, round, cursor } = c);
      version = c.paramsVersion;
      opt = c.optimizer;
      this.o.log.info('job resumed from checkpoint', { job: job.id, round, sha256: ckpt.sha256 });
    }
    await this.o.store.expireOpenAssignments(job.id);
    if (job.state === 'queued') await this.o.store.setJobState(job.id, 'running', ['queued']);
    const run: Run = {
      id: job.id,
      spec,
      state: job.state === 'paused' ? 'paused' : 'running',
      totalRounds: job.total_rounds,
      trainSamples: train.manifest.samples,
      params,
      paramsFrame: new Uint8Array(0),
      opt,
      round,
      cursor,
      version,
      shards: [],
      closing: false,
    };
    this.publish(run);
    this.runs.set(job.id, run);
    await this.o.store.setJobProgress(job.id, round, version);
    if (round >= run.totalRounds) return this.finish(run);
    this.newRound(run);
    this.dispatchAll();
  }

  /** Validate, store and start a job; returns its id. */
  async submit(input: unknown, tokenId: number | null): Promise<number> {
    const spec = parseJobSpec(input);
    if (!this.o.datasets.has(spec.dataset.name, spec.dataset.split)) throw new GridError('BAD_JOB_SPEC', `dataset ${spec.dataset.name}/${spec.dataset.split} is not registered`);
    const train = this.o.datasets.get(spec.dataset.name, spec.dataset.split);
    const want = spec.model.kind === 'mlp' ? spec.model.layers[0] : spec.model.input.reduce((a, b) => a * b, 1);
    const have = train.manifest.featureShape.reduce((a, b) => a * b, 1);
    if (want !== have) throw new GridError('BAD_JOB_SPEC', `model takes ${want} inputs but ${spec.dataset.name} has ${have} features per sample`);
    const classes = spec.model.kind === 'mlp' ? spec.model.layers[spec.model.layers.length - 1] : spec.model.classes;
    if (classes < train.manifest.classes) throw new GridError('BAD_JOB_SPEC', `model has ${classes} outputs but the data set has ${train.manifest.classes} classes`);
    if (spec.evalEvery && spec.dataset.evalSplit && !this.o.datasets.has(spec.dataset.name, spec.dataset.evalSplit))
      throw new GridError('BAD_JOB_SPEC', `eval split ${spec.dataset.evalSplit} is not registered`);
    const id = await this.o.store.createJob({ name: spec.name, spec, totalRounds: totalRounds(spec, train.manifest.samples), tokenId });
    await this.claim();
    return id;
  }

  // Worker lifecycle

  addWorker(w: WorkerLink) {
    this.workers.set(w.id, w);
    this.o.metrics.set('grid_workers_connected', 'Workers connected now', this.workers.size);
  }

  async removeWorker(id: string) {
    const w = this.workers.get(id);
    if (!w || this.stopped) return; // sockets closing at shutdown: the store may already be gone
    this.workers.delete(id);
    this.o.metrics.set('grid_workers_connected', 'Workers connected now', this.workers.size);
    for (const a of [...w.leases]) await this.expire(a, 'expired', 'worker disconnected');
    await this.o.store.setWorkerState(id, 'offline');
    this.dispatchAll();
  }

  ready(workerId: string, slots: number) {
    const w = this.workers.get(workerId);
    if (!w) return;
    w.slots = slots;
    this.dispatch(w);
  }

  async release(workerId: string, assignmentId: number, reason = '') {
    const a = this.assignments.get(assignmentId);
    if (!a || a.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT');
    await this.expire(assignmentId, 'released', `handed back by the worker: ${reason}`);
    this.dispatchAll();
  }

  private dispatchAll() {
    for (const w of this.workers.values()) this.dispatch(w);
  }

  /** Hand `w` as many unleased shards as it has free slots; shard order first, jobs in id order. */
  private dispatch(w: WorkerLink) {
    for (const run of this.runs.values()) {
      if (w.leases.size >= w.slots) return;
      if (run.state !== 'running' || run.closing) continue;
      if (run.spec.workers === 'native' && w.kind !== 'native') continue;
      for (const shard of run.shards) {
        if (w.leases.size >= w.slots) return;
        if (shard.lease || shard.result) continue;
        void this.lease(run, shard, w).catch((e) => this.o.log.error('lease failed', { err: String(e) }));
      }
    }
  }

  private async lease(run: Run, shard: Shard, w: WorkerLink) {
    const leaseMs = run.spec.leaseMs;
    const placeholder = -1 - shard.index; // reserve the shard before the insert resolves
    shard.lease = { assignmentId: placeholder, workerId: w.id, until: this.now() + leaseMs };
    w.leases.add(placeholder);
    const id = await this.o.store.createAssignment({ jobId: run.id, round: run.round, shard: shard.index, workerId: w.id, leaseMs });
    w.leases.delete(placeholder);
    if (shard.lease?.assignmentId !== placeholder || !this.workers.has(w.id) || run.shards[shard.index] !== shard) {
      await this.o.store.finishAssignment(id, 'expired'); // the round moved on or the worker left meanwhile
      return;
    }
    shard.lease.assignmentId = id;
    w.leases.add(id);
    this.assignments.set(id, { jobId: run.id, round: run.round, shard: shard.index, workerId: w.id, live: true });
    const s = run.spec;
    w.send({
      type: 'assign',
      assignmentId: id,
      jobId: run.id,
      round: run.round,
      shard: shard.index,
      leaseMs,
      model: s.model,
      paramsVersion: run.version,
      paramsUrl: `/api/jobs/${run.id}/params?version=${run.version}`,
      data: { dataset: s.dataset.name, split: s.dataset.split, seed: s.seed, cursor: shard.cursor, count: shard.count },
      task: { mode: s.mode, steps: s.mode === 'local' ? (s.local?.steps ?? 1) : 1, batch: s.shardSize, lr: s.local?.lr ?? 0, encoding: s.encoding },
    });
    this.o.metrics.inc('grid_shards_assigned_total', 'Shards leased to workers');
  }

  /** End a lease that will not complete; its shard goes back to the pool. */
  private async expire(assignmentId: number, state: 'expired' | 'released' | 'rejected', reason: string) {
    const a = this.assignments.get(assignmentId);
    if (!a?.live) return;
    a.live = false;
    this.workers.get(a.workerId)?.leases.delete(assignmentId);
    const run = this.runs.get(a.jobId);
    const shard = run?.round === a.round ? run.shards[a.shard] : undefined;
    if (shard?.lease?.assignmentId === assignmentId) shard.lease = undefined;
    await this.o.store.finishAssignment(assignmentId, state);
    this.o.metrics.inc('grid_leases_ended_total', 'Leases that ended without a result', { state });
    this.o.log.info('lease ended', { assignment: assignmentId, job: a.jobId, round: a.round, shard: a.shard, worker: a.workerId, state, reason });
  }

  /** Check one result frame from an untrusted worker; accept it into its shard slot or refuse it with a code. */
  async result(workerId: string, meta: Result, frame: Frame): Promise<void> {
    const a = this.assignments.get(meta.assignmentId);
    if (!a || a.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT', `assignment ${meta.assignmentId} is not leased to this worker`);
    if (!a.live) throw new GridError('STALE_RESULT', `assignment ${meta.assignmentId} expired or was reassigned`, 409);
    const run = this.runs.get(a.jobId);
    if (!run || run.round !== a.round) throw new GridError('STALE_RESULT', 'the round has moved on', 409);
    if (frame.job !== a.jobId || frame.round !== a.round || frame.shard !== a.shard)
      throw new GridError('BAD_FRAME', `frame is for job ${frame.job} round ${frame.round} shard ${frame.shard}, not assignment ${meta.assignmentId}`);
    const shard = run.shards[a.shard];
    const bytes = frame.payload.byteLength;
    const refuse = async (code: GridError['code'], message: string, norm = 0) => {
      await this.o.store.recordResult({ assignment_id: meta.assignmentId, job_id: run.id, round: run.round, shard: a.shard, worker_id: workerId, samples: meta.samples, loss: meta.loss, norm, bytes, encoding: frame.dtype, accepted: 0, reason: code });
      await this.expire(meta.assignmentId, 'rejected', code);
      await this.o.store.creditWorker(workerId, -0.5);
      this.o.metrics.inc('grid_results_total', 'Results received', { accepted: 'false', code });
      this.dispatchAll();
      return new GridError(code, message);
    };
    const wantKind = run.spec.mode === 'local' ? 'delta' : 'gradient';
    if (frame.kind !== wantKind) throw await refuse('BAD_FRAME', `job expects ${wantKind} frames, got ${frame.kind}`);
    if (frame.dtype === 'u8') throw await refuse('BAD_DTYPE', 'results must be f32, f16 or int8');
    if (frame.count !== run.params.length) throw await refuse('WRONG_SIZE', `result has ${frame.count} elements, the model has ${run.params.length}`);
    if (meta.samples !== shard.count) throw await refuse('BAD_MESSAGE', `result covers ${meta.samples} samples, the shard has ${shard.count}`);
    const values = decodeTensor(frame, sharedFloat32(frame.count)); // shared so the aggregation threads read it in place
    if (!allFinite(values)) throw await refuse('NON_FINITE', 'result holds NaN or Infinity');
    const agg = run.spec.aggregation;
    const norm = agg.clipNorm ? clipByNorm(values, agg.clipNorm) : l2Norm(values);
    if (agg.maxNorm && norm > agg.maxNorm) throw await refuse('NORM_TOO_LARGE', `norm ${norm.toFixed(3)} exceeds ${agg.maxNorm}`, norm);

    a.live = false;
    this.workers.get(workerId)?.leases.delete(meta.assignmentId);
    shard.lease = undefined;
    shard.result = { values, samples: meta.samples, loss: meta.loss, correct: meta.correct ?? 0 };
    await this.o.store.finishAssignment(meta.assignmentId, 'done');
    await this.o.store.recordResult({ assignment_id: meta.assignmentId, job_id: run.id, round: run.round, shard: a.shard, worker_id: workerId, samples: meta.samples, loss: meta.loss, norm, bytes, encoding: frame.dtype, accepted: 1, reason: null });
    await this.o.store.creditWorker(workerId, 0.01);
    this.o.metrics.inc('grid_results_total', 'Results received', { accepted: 'true', code: 'OK' });
    this.o.metrics.inc('grid_result_bytes_total', 'Payload bytes of accepted results', { encoding: frame.dtype }, bytes);
    if (run.shards.every((s) => s.result)) await this.closeRound(run);
    this.dispatchAll();
  }

  private newRound(run: Run) {
    const steps = run.spec.mode === 'local' ? (run.spec.local?.steps ?? 1) : 1;
    const shards: Shard[] = [];
    let offset = 0;
    for (let i = 0; i < shardsPerRound(run.spec); i++) {
      const batch = Math.min(run.spec.shardSize, run.spec.globalBatch - i * run.spec.shardSize);
      shards.push({ index: i, cursor: run.cursor + offset, count: batch * steps });
      offset += batch * steps;
    }
    run.shards = shards;
  }

  private publish(run: Run) {
    const p = run.params;
    run.paramsFrame = encodeFrame({ kind: 'params', dtype: 'f32', job: run.id, round: run.round, shard: 0, count: p.length, blockSize: 0 }, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }

  /** All shards are in: combine in shard order, step, publish, checkpoint, evaluate. */
  private async closeRound(run: Run) {
    run.closing = true;
    const t0 = performance.now();
    const parts = run.shards.map((s) => ({ values: s.result!.values, samples: s.result!.samples }));
    const rule = run.spec.aggregation.rule;
    const update = rule === 'mean' ? await this.pool.mean(parts, sharedFloat32(run.params.length)) : aggregate(parts, rule, run.spec.aggregation.trim);
    optimizerStep(run.spec, run.params, update, run.opt);
    const samples = parts.reduce((n, p) => n + p.samples, 0);
    const loss = run.shards.reduce((s, x) => s + x.result!.loss * x.result!.samples, 0) / samples;
    const accuracy = run.shards.reduce((s, x) => s + x.result!.correct, 0) / samples;
    run.round++;
    run.cursor += samples;
    run.version++;
    this.publish(run);
    this.o.metrics.inc('grid_rounds_total', 'Rounds completed');
    this.o.metrics.inc('grid_aggregate_seconds_total', 'Time spent combining results and stepping', {}, (performance.now() - t0) / 1000);
    await this.o.store.setJobProgress(run.id, run.round, run.version);
    await this.o.store.addMetrics(run.id, run.round, { train_loss: loss, train_accuracy: accuracy, samples });
    this.o.log.info('round closed', { job: run.id, round: run.round, loss: Number(loss.toFixed(5)), accuracy: Number(accuracy.toFixed(4)) });
    const last = run.round >= run.totalRounds;
    if (last || run.round % run.spec.checkpointEvery === 0) await this.checkpoint(run);
    if (run.spec.evalEvery > 0 && (last || run.round % run.spec.evalEvery === 0)) {
      const evaluation = this.evaluate(run, run.params.slice(), run.round);
      if (last) await evaluation;
      else this.pending = this.pending.then(() => evaluation);
    }
    run.closing = false;
    if (last) return this.finish(run);
    this.newRound(run);
  }

  private async evaluate(run: Run, params: Float32Array, round: number) {
    const split = run.spec.dataset.evalSplit ?? 'test';
    try {
      const r = await this.evaluator(run.spec.model, params, this.o.datasets.get(run.spec.dataset.name, split), run.spec.evalSamples);
      await this.o.store.addMetrics(run.id, round, { test_loss: r.loss, test_accuracy: r.accuracy });
      this.o.log.info('evaluated', { job: run.id, round, split, accuracy: Number(r.accuracy.toFixed(4)), loss: Number(r.loss.toFixed(4)), samples: r.samples });
    } catch (e) {
      this.o.log.warn('evaluation failed', { job: run.id, err: String(e) });
    }
  }

  private async checkpoint(run: Run) {
    const c = writeCheckpointFile(this.o.checkpointDir, run.id, { round: run.round, cursor: run.cursor, paramsVersion: run.version, params: run.params, optimizer: run.opt });
    await this.o.store.addCheckpoint({ jobId: run.id, round: run.round, ...c });
    this.o.log.info('checkpoint written', { job: run.id, round: run.round, sha256: c.sha256, bytes: c.bytes });
  }

  private async finish(run: Run) {
    this.runs.delete(run.id);
    await this.o.store.setJobState(run.id, 'done', ['running', 'queued', 'paused']);
    this.o.log.info('job finished', { job: run.id, rounds: run.round });
  }

  /** Pause keeps finished shards and revokes leases; resume hands shards out again; cancel drops the job. */
  async control(jobId: number, action: 'pause' | 'resume' | 'cancel') {
    const job = await this.o.store.job(jobId);
    if (!job) throw new GridError('NOT_FOUND', `no job ${jobId}`, 404);
    const run = this.runs.get(jobId);
    const from = { pause: ['running', 'queued'], resume: ['paused'], cancel: ['running', 'queued', 'paused'] } as const;
    const to = { pause: 'paused', resume: 'running', cancel: 'cancelled' } as const;
    if (!(await this.o.store.setJobState(jobId, to[action], [...from[action]]))) throw new GridError('CONFLICT', `job ${jobId} is ${job.state}; cannot ${action}`, 409);
    if (run) {
      if (action !== 'resume') for (const s of run.shards) if (s.lease && s.lease.assignmentId > 0) await this.revoke(s.lease.assignmentId, `job ${action}d`);
      if (action === 'cancel') this.runs.delete(jobId);
      else run.state = action === 'pause' ? 'paused' : 'running';
    }
    this.dispatchAll();
  }

  private async revoke(assignmentId: number, reason: string) {
    const a = this.assignments.get(assignmentId);
    await this.expire(assignmentId, 'released', reason);
    if (a) this.workers.get(a.workerId)?.send({ type: 'revoke', assignmentId, reason });
  }

  /** Expire overdue leases, renew job ownership. */
  async tick() {
    const now = this.now();
    for (const run of this.runs.values())
      for (const s of run.shards) if (s.lease && s.lease.assignmentId > 0 && s.lease.until < now) await this.revoke(s.lease.assignmentId, 'lease deadline passed');
    await this.claim();
    this.dispatchAll();
  }

  params(jobId: number, version: number): Uint8Array {
    const run = this.runs.get(jobId);
    if (!run) throw new GridError('NOT_FOUND', `job ${jobId} is not running here`, 404);
    if (version !== run.version) throw new GridError('STALE_RESULT', `version ${version} is not current (${run.version})`, 409);
    return run.paramsFrame;
  }

  /** Live status for the API. */
  status(jobId: number) {
    const run = this.runs.get(jobId);
    if (!run) return undefined;
    return {
      round: run.round,
      version: run.version,
      shards: run.shards.map((s) => ({ index: s.index, state: s.result ? 'done' : s.lease ? 'leased' : 'pending', worker: s.lease?.workerId })),
    };
  }

  async idle() {
    await this.pending;
  }

  get workerCount() {
    return this.workers.size;
  }
}
