import type { Frame } from '../../protocol/frames';
import type { JobSpec } from '../../protocol/job';
import type { ClientMessage, ServerMessage } from '../../protocol/messages';
import type { Limits } from '../config';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { AssignmentRow, Fence, Job, Store } from '../store/index';
import type { Round, Shard } from './round';

export type ResultMeta = Extract<ClientMessage, { type: 'result' }>;

/** What volunteers are told a job is (every assignment carries it). */
export interface About {
  job: string;
  owner: string;
  description?: string;
}

/** The live state of one job this coordinator owns; `data` is its kind's own (parameters and optimizer, or an inference plan). */
export interface Run<State = unknown> {
  id: number;
  spec: JobSpec;
  kind: JobKind<State>;
  state: 'running' | 'paused';
  totalRounds: number;
  round: Round;
  /** The parameter version shards of this round are computed on (0 for kinds without parameters). */
  version: number;
  /** The ownership epoch this coordinator claimed the job at; every write for it is fenced on it. */
  epoch: number;
  about?: About;
  data: State;
  /** Shards handed back since the job last accepted a result: enough of them in a row fail the job (dispatcher.ts). */
  handbacks?: number;
}

/** What checking and loading a job may consult. */
export interface KindContext {
  owner: string;
  store: Store;
  datasets: DatasetRegistry;
  log: Logger;
  limits: Pick<Limits, 'maxParams' | 'maxShardsPerRound' | 'maxRounds' | 'maxJobSamples'>;
  /** When set, only these model hashes may run [GRID_MODEL_ALLOWLIST]. */
  allowlist?: ReadonlySet<string>;
}

/** What closing a round may use: the store (fenced on the job), setting outliers aside, and the workers' rates. */
export interface CloseContext extends KindContext {
  metrics: Metrics;
  fence: Fence;
  /**
   * Discard these workers' results in the round and hand their shards to others; they lose reputation
   * (quarantine.ts). `code` is what their results go on record as: OUTLIER, or MISMATCH when a recomputation differed.
   */
  reopen(flagged: Set<string>, code?: 'OUTLIER' | 'MISMATCH'): Promise<void>;
  /** The round moved on: ended leases of rounds before the one before `round` are forgotten. */
  pruneLeases(round: number): void;
  /** Whether the worker is the operator's own (connected with an operator-scoped token). */
  trusted: (workerId: string) => boolean;
  /** Rates of the workers that may run the job, fastest first (pace.ts sizes rounds by them). */
  rates: () => readonly number[];
  /** The job's bytes counted since the store last had them, taken to be recorded in the round's close. */
  unrecordedBytes: () => { up: number; down: number };
  /**
   * Run `write`, the close's transaction, with the job's lease rows not written yet (it inserts them first; they are
   * kept for the next if it fails).
   */
  withLeases: <T>(write: (leases: AssignmentRow[]) => Promise<T>) => Promise<T>;
  /** A write the close leaves running while the next round is computed: its failure is handled as the close's own. */
  afterwards: (write: Promise<unknown>) => void;
}

/** A result that passed its kind's checks: what the round keeps, and what goes on record with it. */
export interface Accepted {
  values: Float32Array;
  norm: number;
  /** Samples the result got right, as the kind counts them (never simply taken from an inference worker). */
  correct: number;
  /** Written in the result's own transaction (an inference shard's outputs); not for a kind that records at its close. */
  write?: (tx: Store) => Promise<void>;
}

/**
 * One kind of job (training, inference, ...). The core (scheduler, dispatch, leases, verification, quarantine)
 * calls only this, never asks which kind it holds; `job-kinds.ts` maps a spec's mode to its kind.
 */
export interface JobKind<State = unknown> {
  /**
   * Check a parsed spec against its model and data; `rounds` is what the job's progress counts to, `spec` the spec to
   * store when the kind completed it (an imported model's graph). Throws BAD_JOB_SPEC.
   */
  check(spec: JobSpec, ctx: KindContext): Promise<{ rounds: number; spec?: JobSpec }>;
  /** Rebuild the job's state from its row and what is on record; throws (the job is then failed) if it cannot run. */
  load(job: Job, spec: JobSpec, ctx: KindContext): Promise<{ round: Round; version: number; data: State }>;
  /** Nothing is left to compute (a loaded job may already be there). */
  finished(run: Run<State>): boolean;
  /** What computing one sample of a shard costs, in FLOPs: a result's points (points.ts). */
  flopsPerSample(run: Run<State>): number;
  /** Units of the job's total done, when not its round index (an inference job's shards). */
  progress?(run: Run<State>): number;
  /** The message that leases `shard` to a worker (the core adds what the job is about). */
  assignment(run: Run<State>, shard: Shard, assignmentId: number): ServerMessage;
  /** Bytes one shard moves at least: what bandwidth-capped workers are matched by. */
  shardBytes(run: Run<State>): number;
  /** The fraction of a round's shards one worker may hold or have computed while others could take them. */
  shareCap(run: Run<State>): number;
  /** How far two computations of one shard may differ and still agree (relative L2). */
  tolerance(run: Run<State>): number;
  /** Disagreeing computations of a shard are decided by the coordinator's own recomputation at the close, not by a third worker's vote. */
  refereed?: boolean;
  /**
   * Accepted results wait in `round.unrecorded` for the close, which writes them in the round's one transaction;
   * otherwise (an inference shard's outputs, kept as they come) each result is written as it arrives.
   */
  recordsAtClose?: boolean;
  /** Check one untrusted result for `shard` (lease for `leased` parameters); throws a GridError naming the refusal. */
  accept(run: Run<State>, shard: Shard, meta: ResultMeta, frame: Frame, leased: { workerId: string; paramsVersion: number; trusted?: boolean }): Accepted;
  /** Every shard is in: combine and record, then open the next round, reopen this one, or finish. */
  closeRound(run: Run<State>, ctx: CloseContext): Promise<'reopened' | 'next' | 'finished'>;
  /** The parameters of `run.version` as a frame: a delta when the caller holds version `from`. */
  params?(run: Run<State>, from?: number): Uint8Array;
  /** What the job's API page shows beyond the core's fields (works for jobs not running here too). */
  status?(job: Job, store: Store): Promise<Record<string, unknown>>;
  /** Background work (evaluations) the scheduler waits for on idle() and stop(). */
  idle?(): Promise<void>;
  /** Release the kind's threads. */
  shutdown?(): Promise<void>;
}

/** The kind for a spec's mode. */
export type KindTable = (mode: JobSpec['mode']) => JobKind;
