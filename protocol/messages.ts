import { augmentSchema } from './augment';
import { type ErrorCode, GridError } from './errors';
import { modelSpec } from './model';
import { arr, bool, type Infer, int, lit, num, obj, opt, SchemaError, str, variant } from './schema';

export const PROTOCOL_VERSION = 2;

const capabilities = obj({
  kind: lit('browser', 'native'),
  backend: lit('webgpu', 'cpu'),
  adapter: opt(obj({ vendor: str(200), architecture: str(200), device: str(200), description: str(400), isFallback: bool })),
  limits: opt(obj({ maxBufferSize: num(0), maxStorageBufferBindingSize: num(0), maxComputeInvocationsPerWorkgroup: num(0) })),
  features: opt(arr(str(100), 64)),
  cores: int(1, 4096),
  memoryMB: int(0, 1 << 30),
  /** Engines it has, fastest first, with their measured training speed on the reference MLP. */
  engines: opt(arr(obj({ engine: str(40), adapter: str(200), samplesPerSec: num(0) }), 8)),
  /** Shards this worker runs at once. */
  concurrency: opt(int(1, 64)),
  /** The volunteer's bandwidth cap (bytes up and down per hour), when set: the coordinator gives it work that fits. */
  bytesPerHour: opt(int(0)),
});

/** Worker -> coordinator. */
export const clientMessage = variant('type', {
  hello: obj({ type: lit('hello'), protocol: int(0, 1000), name: opt(str(100)), team: opt(str(100)), workerId: opt(str(64)), capabilities }),
  ready: obj({ type: lit('ready'), slots: int(0, 64) }),
  heartbeat: obj({ type: lit('heartbeat'), t: num() }),
  /** Announces the binary frame that follows: loss and metrics of a computed shard. */
  result: obj({
    type: lit('result'),
    assignmentId: int(1),
    paramsVersion: int(0),
    samples: int(1),
    loss: num(),
    /** Samples right (a sequence counts the share of its positions right). */
    correct: opt(num(0)),
    /** The engine and execution provider that actually ran the shard, as it reported itself. */
    provider: opt(str(200)),
  }),
  release: obj({ type: lit('release'), assignmentId: int(1), reason: str(200) }),
});
export type ClientMessage = Infer<typeof clientMessage>;
export type Capabilities = Infer<typeof capabilities>;

/** Samples [cursor, cursor+count) of the job's shuffled stream over a data set (augmented as `augment` says), or of the set itself in order when `ordered`. */
const dataRef = obj({
  dataset: str(100),
  split: str(40),
  seed: int(0),
  cursor: int(0),
  count: int(1),
  ordered: opt(bool),
  augment: opt(augmentSchema),
});
const task = obj({
  mode: lit('sync', 'local'),
  /** Local mode: steps of `batch` samples each, with AdamW at `lr`. */
  steps: int(1),
  batch: int(1),
  lr: num(0),
  encoding: lit('fp32', 'fp16', 'int8'),
});

/**
 * What a shard is for, shown to the volunteer computing it: the job, who submitted it, their description, and how far
 * the job is (units of its progress done of the total: rounds, or an inference job's shards).
 */
const about = obj({ job: str(200), owner: str(100), description: opt(str(1000)), progress: opt(obj({ done: int(0), total: int(1) })) });
export type About = Infer<typeof about>;

/** Coordinator -> worker. */
export const serverMessage = variant('type', {
  welcome: obj({ type: lit('welcome'), protocol: int(), workerId: str(64), heartbeatMs: int() }),
  assign: obj({
    type: lit('assign'),
    assignmentId: int(1),
    jobId: int(1),
    round: int(0),
    shard: int(0),
    model: modelSpec,
    /** The parameter version to compute on; the result repeats it. */
    paramsVersion: int(0),
    paramsUrl: str(400),
    data: dataRef,
    task,
    about: opt(about),
  }),
  /** Run a registered ONNX model over samples in input order; the result is an `output` frame of `count` rows. */
  infer: obj({
    type: lit('infer'),
    assignmentId: int(1),
    jobId: int(1),
    shard: int(0),
    model: obj({ sha256: str(64), input: str(200), output: str(200) }),
    /** The input's full shape; -1 where the batch goes (a fixed first dimension is run that many samples at a time). */
    inputShape: arr(int(-1, 1 << 30), 8, 1),
    /** Output values per sample, before post-processing. */
    outputWidth: int(1, 1 << 24),
    postprocess: str(20),
    dtype: lit('f32', 'f16'),
    data: dataRef,
    about: opt(about),
  }),
  revoke: obj({ type: lit('revoke'), assignmentId: int(1), reason: str(200) }),
  ack: obj({ type: lit('ack'), assignmentId: int(1) }),
  error: obj({ type: lit('error'), code: str(64), message: str(1000), assignmentId: opt(int(1)) }),
});
export type ServerMessage = Infer<typeof serverMessage>;
export type Assignment = Extract<ServerMessage, { type: 'assign' }>;
export type InferAssignment = Extract<ServerMessage, { type: 'infer' }>;
export type ErrorMessage = Extract<ServerMessage, { type: 'error' }>;

/** Parse a text frame; every failure is a GridError with a stable code. */
export function parseClientMessage(text: string, maxBytes = 64 * 1024): ClientMessage {
  if (text.length > maxBytes) throw new GridError('FRAME_TOO_LARGE');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new GridError('BAD_JSON');
  }
  const type = (raw as { type?: unknown } | null)?.type;
  const known = ['hello', 'ready', 'heartbeat', 'result', 'release'];
  if (typeof type !== 'string' || !known.includes(type)) throw new GridError('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type)}`);
  try {
    const msg = clientMessage(raw, 'message');
    if (msg.type === 'hello' && msg.protocol !== PROTOCOL_VERSION)
      throw new GridError('VERSION_MISMATCH', `protocol ${msg.protocol} is not supported; this coordinator speaks ${PROTOCOL_VERSION}`);
    return msg;
  } catch (e) {
    if (e instanceof SchemaError) throw new GridError('BAD_MESSAGE', e.message);
    throw e;
  }
}

export function parseServerMessage(text: string): ServerMessage {
  try {
    return serverMessage(JSON.parse(text), 'message');
  } catch (e) {
    throw new GridError('BAD_MESSAGE', (e as Error).message);
  }
}

export const errorMessage = (code: ErrorCode, message: string, assignmentId?: number): ErrorMessage =>
  assignmentId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, assignmentId };

/** The subprotocol a worker socket speaks; offered beside `grid.bearer.<token>`, and the one the server answers. */
export const WS_PROTOCOL = 'grid.v2';
export const WS_BEARER = 'grid.bearer.';
/** The subprotocols a worker offers: its token travels in the upgrade's headers, never in a URL. */
export const workerProtocols = (token: string) => [WS_PROTOCOL, `${WS_BEARER}${token}`];
