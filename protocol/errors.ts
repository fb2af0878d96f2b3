/** Stable error codes. Every refusal on the wire or over HTTP carries one of these. */
export const ErrorCodes = {
  BAD_JSON: 'text frame is not valid JSON',
  BAD_MESSAGE: 'message does not match its schema',
  UNKNOWN_TYPE: 'message type is not known',
  VERSION_MISMATCH: 'protocol version is not supported',
  NOT_REGISTERED: 'hello must come first',
  FRAME_TOO_LARGE: 'frame exceeds the configured maximum size',
  BAD_FRAME: 'binary frame header is malformed or truncated',
  BAD_LENGTH: 'payload length does not match the header',
  BAD_DTYPE: 'dtype is unknown or not allowed here',
  WRONG_SIZE: 'tensor element count does not match the job',
  NON_FINITE: 'tensor holds NaN or Infinity',
  NORM_TOO_LARGE: 'tensor norm exceeds the job limit',
  UNKNOWN_ASSIGNMENT: 'assignment is not leased to this worker',
  STALE_RESULT: 'result is for an expired or reassigned lease',
  TOO_MANY_ERRORS: 'too many invalid messages; disconnecting',
  UNAUTHORIZED: 'missing or unknown token',
  FORBIDDEN: 'token lacks the scope for this action',
  RATE_LIMITED: 'too many requests for this token',
  ENROLMENT_CLOSED: 'anonymous enrolment is switched off',
  BAD_JOB_SPEC: 'job spec is invalid',
  BAD_REQUEST: 'request is invalid',
  NOT_FOUND: 'no such resource',
  CONFLICT: 'resource is not in a state that allows this',
  PAYLOAD_TOO_LARGE: 'request body exceeds the configured maximum size',
  INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The one error type: a stable code, an HTTP status, and a human message. */
export class GridError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ErrorCodes[code],
    readonly status = 400,
  ) {
    super(message);
    this.name = 'GridError';
  }
}
