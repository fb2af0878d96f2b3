import type { Generated } from 'kysely';

// Times are epoch milliseconds in BIGINT columns and JSON is TEXT: the same values come back from SQLite and MariaDB.
export interface JobTable {
  id: Generated<number>;
  name: string;
  spec: string;
  state: JobState;
  round: number;
  total_rounds: number;
  params_version: number;
  token_id: number | null;
  owner: string | null;
  owner_until: number | null;
  /** Bumped at every change of owner; an owner's writes carry the epoch it claimed at. */
  owner_epoch: Generated<number>;
  error: string | null;
  created_at: number;
  updated_at: number;
  bytes_up: Generated<number>;
  bytes_down: Generated<number>;
}
export type JobState = 'queued' | 'running' | 'paused' | 'cancelled' | 'done' | 'failed';

export interface AssignmentTable {
  id: Generated<number>;
  job_id: number;
  round: number;
  shard: number;
  worker_id: string;
  state: 'leased' | 'done' | 'expired' | 'released' | 'rejected';
  lease_until: number;
  created_at: number;
  finished_at: number | null;
}

/** The next id of each coordinator-allocated sequence: a coordinator reserves a block by moving it on. */
export interface IdBlockTable {
  name: string;
  next_id: number;
}

export interface ResultTable {
  id: Generated<number>;
  assignment_id: number;
  job_id: number;
  round: number;
  shard: number;
  worker_id: string;
  samples: number;
  loss: number;
  norm: number;
  bytes: number;
  encoding: string;
  accepted: number;
  reason: string | null;
  /** The work it stands for, one point per GFLOP (jobs/points.ts): what a volunteer's credit sums. */
  points: number;
  created_at: number;
}

export interface WorkerTable {
  id: string;
  token_id: number | null;
  name: string;
  /** The team it computes for, if any: credit is summed by team too. */
  team: string | null;
  kind: string;
  capabilities: string;
  state: 'online' | 'offline' | 'quarantined';
  reputation: number;
  shards_done: number;
  connected_at: number;
  last_seen: number;
  bytes_up: Generated<number>;
  bytes_down: Generated<number>;
  /** Results the coordinator's recomputation found right: the worker's standing (trust-ledger.ts). */
  verified: Generated<number>;
}

export interface CheckpointTable {
  id: Generated<number>;
  job_id: number;
  round: number;
  path: string;
  sha256: string;
  bytes: number;
  created_at: number;
}

export interface TokenTable {
  id: Generated<number>;
  name: string;
  hash: string;
  scopes: string;
  rate_per_min: number;
  created_at: number;
  revoked_at: number | null;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface AuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface MetricTable {
  id: Generated<number>;
  job_id: number;
  round: number;
  name: string;
  value: number;
  at: number;
}

export interface DatasetTable {
  name: string;
  split: string;
  source: string;
  samples: number;
  classes: number;
  manifest: string;
  created_at: number;
  token_id: number | null;
}

/** A part of an uploaded data set's file (dataset_files), by the file's name in every coordinator's data dir. */
export interface DatasetFileTable {
  file: string;
  part: number;
  data: Uint8Array;
}

/** A continuation a language model wrote at an evaluation (its `seq`-th that round). */
export interface TextSampleTable {
  job_id: number;
  round: number;
  seq: number;
  prompt: string;
  text: string;
  at: number;
}

export interface CheckpointPartTable {
  checkpoint_id: number;
  part: number;
  data: Uint8Array;
}

/** A registered ONNX model; `inputs` and `outputs` are JSON lists of {name, type, shape}. */
export interface ModelTable {
  sha256: string;
  name: string;
  token_id: number | null;
  bytes: number;
  opset: number;
  inputs: string;
  outputs: string;
  created_at: number;
}

export interface ModelPartTable {
  sha256: string;
  part: number;
  data: Uint8Array;
}

/** One accepted computation of an inference shard: its kept outputs, as the worker's frame payload. */
export interface InferenceOutputTable {
  assignment_id: number;
  job_id: number;
  shard: number;
  worker_id: string;
  provider: string;
  dtype: string;
  count: number;
  data: Uint8Array;
  created_at: number;
}

export interface Database {
  inference_outputs: InferenceOutputTable;
  models: ModelTable;
  model_parts: ModelPartTable;
  checkpoint_parts: CheckpointPartTable;
  jobs: JobTable;
  assignments: AssignmentTable;
  results: ResultTable;
  workers: WorkerTable;
  checkpoints: CheckpointTable;
  tokens: TokenTable;
  audit_events: AuditTable;
  metrics: MetricTable;
  datasets: DatasetTable;
  dataset_files: DatasetFileTable;
  text_samples: TextSampleTable;
  id_blocks: IdBlockTable;
}
