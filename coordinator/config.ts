import { join, resolve } from 'node:path';
import type { Logger } from './log';
import type { Evaluator } from './training/evaluate';

/** What no spec or client may exceed, set by the operator (environment variables in brackets). */
export interface Limits {
  /** Parameters of one job's model [GRID_MAX_PARAMS]. */
  maxParams: number;
  /** Shards in one round [GRID_MAX_SHARDS_PER_ROUND]. */
  maxShardsPerRound: number;
  /** Open worker connections per token [GRID_MAX_SOCKETS_PER_TOKEN]. */
  maxSocketsPerToken: number;
  /** Anonymous enrolments per minute across all addresses [GRID_ENROL_PER_MIN]; each address gets 10. */
  enrolPerMinute: number;
  /**
   * Anonymous enrolments per minute from one network, an IPv4 /24 or an IPv6 /64 [GRID_ENROL_PER_PREFIX_PER_MIN]:
   * a provider hands one customer many addresses of one prefix, so identities cost a network, not an address.
   */
  enrolPerPrefixPerMinute: number;
  /**
   * Leading zero bits of SHA-256 an anonymous enrolment must find [GRID_ENROL_POW_BITS], 0 for none: each bit doubles
   * what a token costs (18: about 2^18 hashes, half a second to a few seconds of one core).
   */
  enrolProofBits: number;
  /** Rounds one training job may run [GRID_MAX_ROUNDS]. */
  maxRounds: number;
  /** Samples one training job may compute, over all its rounds [GRID_MAX_JOB_SAMPLES]. */
  maxJobSamples: number;
  /**
   * How long a worker connection may stay open before it says hello [GRID_HELLO_TIMEOUT_MS]; a browser times its
   * engines first (about 15 s here), so the default leaves it room.
   */
  helloTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxParams: 20_000_000,
  maxShardsPerRound: 1024,
  maxSocketsPerToken: 64,
  enrolPerMinute: 600,
  enrolPerPrefixPerMinute: 20,
  enrolProofBits: 18,
  maxRounds: 10_000_000,
  maxJobSamples: 1e11,
  helloTimeoutMs: 60_000,
};

export interface CoordinatorConfig {
  limits?: Partial<Limits>;
  /** Origins allowed to call the API from a browser [GRID_CORS_ORIGINS, comma-separated]. */
  corsOrigins?: string[];
  port: number;
  host: string;
  databaseUrl: string;
  dataDir: string;
  /** Built web client (vite build output). */
  webDir: string;
  enrolment: boolean;
  operatorToken?: string;
  maxFrameBytes: number;
  maxBodyBytes: number;
  /** Largest ONNX model accepted [GRID_MAX_MODEL_BYTES]. */
  maxModelBytes?: number;
  /** When set, the only model sha256s that may be registered [GRID_MODEL_ALLOWLIST, comma-separated]. */
  modelAllowlist?: string[];
  heartbeatMs: number;
  fashionMnistDir?: string;
  evaluator?: Evaluator;
  log?: Logger;
}

/** A positive integer from the environment, or the default; anything else stops the start with a clear message. */
function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
  return n;
}

export function configFromEnv(env = process.env): CoordinatorConfig {
  const dataDir = resolve(env.GRID_DATA_DIR ?? '.data');
  return {
    port: positiveInt(env, 'PORT', 8080),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL ?? `sqlite:${join(dataDir, 'grid.db')}`,
    dataDir,
    webDir: resolve(env.GRID_WEB_DIR ?? 'dist'),
    enrolment: (env.GRID_ENROLMENT ?? 'open') !== 'closed',
    operatorToken: env.GRID_OPERATOR_TOKEN,
    maxFrameBytes: positiveInt(env, 'GRID_MAX_FRAME_BYTES', 64 << 20),
    maxBodyBytes: positiveInt(env, 'GRID_MAX_BODY_BYTES', 256 << 20),
    maxModelBytes: positiveInt(env, 'GRID_MAX_MODEL_BYTES', 64 << 20),
    modelAllowlist: env.GRID_MODEL_ALLOWLIST ? env.GRID_MODEL_ALLOWLIST.split(',').map((s) => s.trim().toLowerCase()) : undefined,
    heartbeatMs: positiveInt(env, 'GRID_HEARTBEAT_MS', 5000),
    fashionMnistDir: env.FASHION_MNIST_DIR,
    corsOrigins: (env.GRID_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    limits: {
      maxParams: positiveInt(env, 'GRID_MAX_PARAMS', DEFAULT_LIMITS.maxParams),
      maxShardsPerRound: positiveInt(env, 'GRID_MAX_SHARDS_PER_ROUND', DEFAULT_LIMITS.maxShardsPerRound),
      maxSocketsPerToken: positiveInt(env, 'GRID_MAX_SOCKETS_PER_TOKEN', DEFAULT_LIMITS.maxSocketsPerToken),
      enrolPerMinute: positiveInt(env, 'GRID_ENROL_PER_MIN', DEFAULT_LIMITS.enrolPerMinute),
      enrolPerPrefixPerMinute: positiveInt(env, 'GRID_ENROL_PER_PREFIX_PER_MIN', DEFAULT_LIMITS.enrolPerPrefixPerMinute),
      enrolProofBits: Math.min(32, positiveInt(env, 'GRID_ENROL_POW_BITS', DEFAULT_LIMITS.enrolProofBits)),
      maxRounds: positiveInt(env, 'GRID_MAX_ROUNDS', DEFAULT_LIMITS.maxRounds),
      maxJobSamples: positiveInt(env, 'GRID_MAX_JOB_SAMPLES', DEFAULT_LIMITS.maxJobSamples),
      helloTimeoutMs: positiveInt(env, 'GRID_HELLO_TIMEOUT_MS', DEFAULT_LIMITS.helloTimeoutMs),
    },
  };
}
