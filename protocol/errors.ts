/**
 * Stable error codes: every refusal on the wire or over HTTP carries one. The HTTP status of each code is here
 * and nowhere else, so a code means the same thing on every route and on the WebSocket upgrade.
 */
export const ErrorCodes = {
  BAD_JSON: [400, 'text frame is not valid JSON'],
  BAD_MESSAGE: [400, 'message does not match its schema'],
  UNKNOWN_TYPE: [400, 'message type is not known'],
  VERSION_MISMATCH: [400, 'protocol version is not supported'],
  NOT_REGISTERED: [400, 'hello must come first'],
  FRAME_TOO_LARGE: [413, 'frame exceeds the configured maximum size'],
  BAD_FRAME: [400, 'binary frame header is malformed or truncated'],
  BAD_LENGTH: [400, 'payload length does not match the header'],
  BAD_DTYPE: [400, 'dtype is unknown or not allowed here'],
  WRONG_SIZE: [400, 'tensor element count does not match the job'],
  NON_FINITE: [400, 'tensor holds NaN or Infinity'],
  NORM_TOO_LARGE: [400, 'tensor norm exceeds the job limit'],
  VALUE_TOO_LARGE: [400, 'a tensor element exceeds the job limit on magnitude'],
  REPLAYED: [400, 'the result repeats one already received'],
  UNKNOWN_ASSIGNMENT: [400, 'assignment is not leased to this worker'],
  STALE_RESULT: [409, 'result is for an expired or reassigned lease'],
  STALE_VERSION: [409, 'parameter version is not the current one'],
  TOO_MANY_ERRORS: [400, 'too many invalid messages; disconnecting'],
  TOO_MANY_MESSAGES: [429, 'message rate limit exceeded; disconnecting'],
  HELLO_TIMEOUT: [408, 'the connection did not say hello in time; disconnecting'],
  QUARANTINED: [403, 'this worker is quarantined for bad results'],
  WORKER_ERROR: [500, 'the worker failed to compute the shard and handed it back'],
  UNAUTHORIZED: [401, 'missing or unknown token'],
  FORBIDDEN: [403, 'token lacks the scope for this action'],
  RATE_LIMITED: [429, 'too many requests for this token'],
  ENROLMENT_CLOSED: [403, 'anonymous enrolment is switched off'],
  PROOF_REQUIRED: [403, 'enrolment needs a solved proof-of-work challenge'],
  BAD_JOB_SPEC: [400, 'job spec is invalid'],
  BAD_MODEL: [400, 'model file is not acceptable'],
  MODEL_NOT_ALLOWED: [403, "model is not on this coordinator's allow-list"],
  UNSUPPORTED_OP: [400, 'model uses an op the grid cannot train (named in the message)'],
  BAD_REQUEST: [400, 'request is invalid'],
  NOT_FOUND: [404, 'no such resource'],
  METHOD_NOT_ALLOWED: [405, 'this path does not take that method'],
  CONFLICT: [409, 'resource is not in a state that allows this'],
  PAYLOAD_TOO_LARGE: [413, 'request body exceeds the configured maximum size'],
  INTERNAL: [500, 'internal error'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ErrorCodes;

export const statusOf = (code: ErrorCode): number => ErrorCodes[code][0];

/** The one error type: a stable code, the HTTP status that code maps to, and a human message. */
export class GridError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ErrorCodes[code][1],
  ) {
    super(message);
    this.name = 'GridError';
    this.status = statusOf(code);
  }
}

/** The JSON body of every HTTP refusal. */
export const errorBody = (e: GridError) => JSON.stringify({ error: { code: e.code, message: e.message } });

/** A refusal as a client sees it: the code and message of an error body, or the HTTP status when the body is not one. */
export class Refused extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'Refused';
  }
}

/** Decode a refused reply's body (errorBody's inverse), for the CLI and the console alike. */
export async function refusalOf(res: { status: number; statusText?: string; json(): Promise<unknown> }): Promise<Refused> {
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: unknown; message?: unknown } } | null;
  const e = body?.error;
  return new Refused(typeof e?.code === 'string' ? e.code : String(res.status), typeof e?.message === 'string' ? e.message : (res.statusText ?? ''));
}

/** The refusal to show for a failure: a GridError as it is, anything else as INTERNAL (never echo an internal error to a stranger). */
export const refusalFor = (e: unknown): GridError => (e instanceof GridError ? e : new GridError('INTERNAL'));
