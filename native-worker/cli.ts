import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { solvePuzzle } from '../protocol/proof-of-work';
import { EngineChooser, REFERENCE_MODEL } from '../worker/engine-choice';
import { enrolAnonymously } from '../worker/enrol';
import { type WorkerEvent, WorkerLoop } from '../worker/loop';
import { nativeEngines, nativeInference } from './engines';
import { fileCache } from './file-cache';
import { type BackendChoice, openBackend } from './open-backend';
import { selfCheck } from './self-check';

const HELP = `grid-worker: a native GPU worker for the volunteer compute grid

  --coordinator URLS  coordinator base URL, or several separated by commas to fail over between them
                      (default http://localhost:8080, or GRID_COORDINATOR)
  --token TOKEN       worker token (or GRID_TOKEN); without one, enrol anonymously
  --backend B         auto | vulkan | gl | cpu (default auto)
  --concurrency N     shards held at once: one computes while the others' data and parameters arrive (default 2)
  --max-memory MB     refuse to start when the backend reports less buffer memory than this
  --name NAME         name shown to operators (default the host name)
  --team TEAM         the team this worker's credit also counts for
  --cache-dir DIR     where verified data chunks and engine timings are kept (default ~/.cache/grid-worker)
  --check             print adapter, limits and each engine's correctness and speed (fastest first); exit
                      non-zero if no engine computes what the CPU reference computes
  --check-seconds S   how long --check times each engine (default 5)
  --measure-ms MS     how long each engine is timed on a model before choosing (default 2000; cached per engine)
  --max-mb-per-hour M cap on bytes up and down together over any hour, in MB (10^6 bytes); shards that would
                      break it are handed back until there is room again (default: no cap)
  --slowdown K        take K times as long over each shard as computing it took (tests and benches: a slow volunteer)
  --status            print the coordinator's health and exit
  --log-shards        one log line per shard assigned, computed and accepted (default: a progress line every 10 s)
SIGINT finishes the shard in hand and exits; a second SIGINT hands it back at once.`;

/** The arguments, or the usage and exit status 2 instead of a stack trace for an option that does not exist. */
function parsed() {
  try {
    return parseArgs({
      options: {
        coordinator: { type: 'string', default: process.env.GRID_COORDINATOR ?? 'http://localhost:8080' },
        token: { type: 'string', default: process.env.GRID_TOKEN },
        backend: { type: 'string', default: 'auto' },
        concurrency: { type: 'string', default: '2' },
        'max-memory': { type: 'string' },
        name: { type: 'string', default: hostname() },
        team: { type: 'string' },
        'cache-dir': { type: 'string', default: join(homedir(), '.cache', 'grid-worker') },
        check: { type: 'boolean', default: false },
        'check-seconds': { type: 'string', default: '5' },
        'measure-ms': { type: 'string', default: process.env.GRID_MEASURE_MS ?? '2000' },
        slowdown: { type: 'string', default: '1' },
        'max-mb-per-hour': { type: 'string' },
        status: { type: 'boolean', default: false },
        'log-shards': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    console.error(`grid-worker: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}
const { values: args } = parsed();

const json = !process.stdout.isTTY;
const PROGRESS_MS = 10_000;
const log = (msg: string, fields: Record<string, unknown> = {}) =>
  json
    ? console.log(JSON.stringify({ t: new Date().toISOString(), msg, ...fields }))
    : console.error(`${msg}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`);

/** A whole number option in [min, max], or a clear error naming the flag. */
function intOption(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

/** A number above zero, or a clear error naming the flag. */
function positiveNumber(name: string, raw: string): number {
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a number above 0, not ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const coordinators = (args.coordinator ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/$/, ''))
    .filter(Boolean);
  const base = coordinators[0];
  if (args.status) {
    const res = await fetch(`${base}/health`).catch((e) => ({ ok: false, statusText: String(e), json: async () => null }) as never);
    console.log(JSON.stringify({ coordinator: base, reachable: res.ok, health: res.ok ? await res.json() : null }, null, 2));
    return res.ok ? 0 : 1;
  }
  const choice = args.backend as BackendChoice;
  if (!['auto', 'vulkan', 'gl', 'cpu'].includes(choice)) throw new Error(`--backend must be auto, vulkan, gl or cpu, not ${choice}`);
  const cache = fileCache(args['cache-dir']!);
  let opened: Awaited<ReturnType<typeof openBackend>>;
  try {
    opened = await openBackend(choice, (m) => log('gpu error', { error: m }), cache);
  } catch (e) {
    if (choice !== 'auto') throw e;
    log('no GPU adapter; using the CPU backend', { error: String(e) });
    opened = await openBackend('cpu', () => {});
  }
  const { backend, capabilities } = opened;
  log('backend ready', { backend: backend.name, adapter: backend.adapter });
  const concurrency = intOption('concurrency', args.concurrency, 1, 64);
  const maxMemory = intOption('max-memory', args['max-memory'] ?? '0', 0, 1 << 30);
  if (maxMemory && capabilities.limits && capabilities.limits.maxBufferSize < maxMemory * 2 ** 20)
    throw new Error(`adapter allows buffers of ${capabilities.limits.maxBufferSize} bytes, less than --max-memory ${maxMemory} MB`);

  const engines = nativeEngines(backend);
  if (args.check) {
    console.log(JSON.stringify({ adapter: backend.adapter, capabilities }, null, 2));
    const rows = await selfCheck(engines, intOption('check-seconds', args['check-seconds'], 1, 3600));
    console.table(rows);
    // A software rasterizer (lavapipe, SwiftShader) computes correctly but slowly: say so rather than a bare "ok".
    const gpu = capabilities.backend !== 'webgpu' ? 'none' : capabilities.adapter?.isFallback ? 'software' : 'hardware';
    if (gpu !== 'hardware')
      console.error(
        `grid-worker: no hardware GPU (${gpu === 'none' ? 'none found' : `${backend.adapter} is a software rasterizer`}); the CPU engines carry the work`,
      );
    console.log(JSON.stringify({ check: 'ok', gpu, engines: rows }));
    return 0;
  }
  // Measured once per engine and adapter (the result is cached), and told to the coordinator in hello.
  const measureMs = intOption('measure-ms', args['measure-ms'], 1, 600_000);
  const rates = await new EngineChooser(engines, cache, measureMs).rank(REFERENCE_MODEL);
  log('engines', { rates });

  let token = args.token;
  if (!token) {
    const res = await enrolAnonymously(base, (puzzle) => solvePuzzle(puzzle));
    if (!res.ok) throw new Error(`enrolment refused: ${res.status} ${await res.text()}`);
    token = ((await res.json()) as { token: string }).token;
    log('enrolled as an anonymous volunteer');
  }

  const cap = args['max-mb-per-hour'];
  const maxBytesPerHour = cap === undefined ? undefined : Math.round(positiveNumber('max-mb-per-hour', cap) * 1e6);
  let started = performance.now();
  const loop = new WorkerLoop({
    coordinator: coordinators,
    token,
    engines,
    inference: nativeInference(),
    slowdown: intOption('slowdown', args.slowdown, 1, 1000),
    measureMs,
    capabilities: { ...capabilities, engines: rates, ...(maxBytesPerHour === undefined ? {} : { bytesPerHour: maxBytesPerHour }) },
    maxBytesPerHour,
    name: args.name,
    team: args.team,
    concurrency,
    cache,
    // A zero mask: ws then sends a result as it is instead of a masked copy of megabytes. Masking guards proxies
    // against scripts in browsers (RFC 6455 §10.3); a native worker is not one.
    connect: (url, protocols) => new WebSocket(url, protocols, { maxPayload: 256 << 20, generateMask: (mask) => void mask.fill(0) }),
    onEvent: (e) => report(e),
  });
  const report = (e: WorkerEvent) => {
    if (e.type === 'computed' && !json) {
      const rate = loop.samplesDone / ((performance.now() - started) / 1000);
      process.stderr.write(
        `\rjob ${e.job} round ${e.round} shard ${e.shard} | shards ${loop.shardsDone} | loss ${e.loss.toFixed(4)} | ${rate.toFixed(0)} samples/s   `,
      );
      return;
    }
    if (e.type === 'connected') started = performance.now();
    if (PER_SHARD.has(e.type) && !args['log-shards']) return progress(e);
    log(e.type, e as unknown as Record<string, unknown>);
  };
  // Per-shard events summarised: a busy worker wrote 12,061 lines in 10 minutes when each was logged.
  const PER_SHARD = new Set(['assigned', 'computed', 'accepted']);
  let lastProgress = performance.now();
  let lastComputed: Extract<WorkerEvent, { type: 'computed' }> | undefined;
  const progress = (e: WorkerEvent) => {
    if (e.type === 'computed') lastComputed = e;
    if (performance.now() - lastProgress < PROGRESS_MS || !lastComputed) return;
    lastProgress = performance.now();
    const { job, round, loss } = lastComputed;
    const rate = loop.samplesDone / ((performance.now() - started) / 1000);
    log('progress', { job, round, loss, shards: loop.shardsDone, samplesPerSec: Math.round(rate) });
  };
  let interrupts = 0;
  const done = new Promise<number>((resolve) => {
    process.on('SIGINT', () => {
      interrupts++;
      log(interrupts === 1 ? 'SIGINT: finishing the shard in hand, then exiting (again to hand it back now)' : 'SIGINT: handing the shard back');
      void loop.stop(interrupts === 1 ? 'finish' : 'release').then(() => resolve(0));
    });
    process.on('SIGTERM', () => void loop.stop('release').then(() => resolve(0)));
  });
  loop.start();
  return done;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log('fatal', { error: String(e?.message ?? e) });
    process.exit(1);
  },
);
