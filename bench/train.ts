import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startCoordinator } from '../coordinator/server';
import { api, jobMetrics, type Proc, startWorker, tempDir } from '../test/helpers';
import { trainPlain } from './plain-train';

const TARGET = Number(process.env.BENCH_TARGET ?? 0.88);
const MAX_EPOCHS = Number(process.env.BENCH_MAX_EPOCHS ?? 12);
const BACKEND = process.env.BENCH_WORKER_BACKEND ?? 'vulkan';
const TOKEN = 'gt_bench_operator';
const CNN_TARGET = Number(process.env.BENCH_CNN_TARGET ?? 0.91);
const CNN_EPOCHS = Number(process.env.BENCH_CNN_EPOCHS ?? 15);
const CNN_LR = Number(process.env.BENCH_CNN_LR ?? 0.002);
const RESNET_TARGET = Number(process.env.BENCH_RESNET_TARGET ?? 0.925);
const RESNET_EPOCHS = Number(process.env.BENCH_RESNET_EPOCHS ?? 15);
/** The plain process's epochs: one is enough for its samples/s, which is what the grid is compared with. */
const RESNET_PLAIN_EPOCHS = Number(process.env.BENCH_RESNET_PLAIN_EPOCHS ?? 1);
/**
 * BENCH_RESNET_AUGMENT: `flip` (left-right mirroring), `crop` (random shifts of up to 2 pixels), both (`crop,flip` or
 * `1`), or `0` for none. With AdamW, shifts and mirroring over 12 epochs reached 91.61% against 91.84% without.
 */
const RESNET_AUGMENT = resnetAugment(process.env.BENCH_RESNET_AUGMENT ?? 'flip');

function resnetAugment(value: string): { crop?: number; flip?: boolean } | undefined {
  const parts = new Set(value === '1' ? ['crop', 'flip'] : value.split(',').filter((p) => p && p !== '0'));
  if (parts.size === 0) return undefined;
  return { ...(parts.has('crop') ? { crop: 2 } : {}), ...(parts.has('flip') ? { flip: true } : {}) };
}

function describeAugment(a: { crop?: number; flip?: boolean } | undefined): string {
  return [a?.crop && `shifts of ${a.crop} px`, a?.flip && 'mirroring'].filter(Boolean).join(' and ');
}

/**
 * BENCH_PIN=1: this process (the coordinator, and the plain run) on CPU 0, the workers on CPU 1, as if the
 * coordinator had a machine of its own; for one-worker runs on a 2-core machine.
 */
const PIN = process.env.BENCH_PIN === '1';
/** BENCH_REPEAT: pairs of the by-rate run and the plain run in `sync` (default 1); the median ratio is printed. */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const pin = (pid: number, cpu: number) => execFileSync('taskset', ['-apc', String(cpu), String(pid)], { stdio: 'ignore' });

/** The residual CNN preset the README names: a ResNet-8 (stem, three stages of one basic block, batch norm). */
export const RESNET = { kind: 'resnet', input: [1, 28, 28], widths: [16, 32, 64], blocks: 1, classes: 10 };

interface Outcome {
  label: string;
  workers: number;
  reached: boolean;
  accuracy: number;
  seconds: number;
  samplesPerSecond: number;
  bytesPerRound: number;
  /** Bytes the job moved (parameters, results, messages), and every byte of its workers (with the data set). */
  jobBytes: number;
  allBytes: number;
  /** Mean seconds per round: wall, worker compute (one shard, summed over the round's shards / workers), close. */
  perRound: { wall: number; compute: number; close: number };
  /** The coordinator's process (every thread of it) busy this fraction of one core's time while the job ran. */
  coordinatorCpu: number;
  /** Mean milliseconds of each part of a close (grid_round_close_part_seconds). */
  closeParts: Record<string, number>;
  /** Seconds from the job's submission until its first shard was computed (data, engine, first lease). */
  startup: number;
}

const base = {
  model: { kind: 'mlp', layers: [784, 256, 128, 10] },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test' },
  optimizer: { kind: 'adamw', lr: 0.002, weightDecay: 0 },
  globalBatch: 512,
  shardSize: 128,
  epochs: MAX_EPOCHS,
  checkpointEvery: 100,
  evalEvery: 59, // about half an epoch, on the whole 10k test set
  leaseMs: 60_000,
};

/** Train the full Fashion-MNIST MLP until test accuracy reaches TARGET (or MAX_EPOCHS); time it. */
async function run(label: string, workers: number, over: Record<string, unknown> = {}, target = TARGET, slowdown = 1, volunteers = false): Promise<Outcome> {
  const dir = tempDir('grid-bench-');
  const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
  const coord = await startCoordinator({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: `sqlite:${join(dir, 'grid.db')}`,
    dataDir: dir,
    webDir: join(dir, 'web'),
    enrolment: false,
    operatorToken: TOKEN,
    maxFrameBytes: 64 << 20,
    maxBodyBytes: 1 << 20,
    heartbeatMs: 5000,
    log: quiet,
  });
  const url = `http://127.0.0.1:${coord.port}`;
  // With `slowdown`, the last worker takes that many times as long over each shard: a straggler.
  const slow = (i: number) => (slowdown > 1 && i === workers - 1 ? ['--slowdown', String(slowdown)] : []);
  // Volunteers' workers (a worker-scope token) are spot-checked by the coordinator; the operator's are not.
  const workerToken = volunteers ? (await api<{ token: string }>(url, TOKEN, '/api/tokens', { name: 'volunteer', scopes: ['worker'] })).token : TOKEN;
  const procs: Proc[] = Array.from({ length: workers }, (_, i) => startWorker(url, workerToken, `bench-${i}`, BACKEND, ['--log-shards', ...slow(i)]));
  // Workers already on the grid when the job arrives: their own start-up (engine timing at launch) is not the job's.
  await Promise.all(procs.map((p) => p.waitFor(/"msg":"connected"/)));
  if (PIN) for (const p of procs) pin(p.child.pid as number, 1);
  const t0 = Date.now();
  const cpuAtStart = process.cpuUsage();
  const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { name: label, ...base, ...over });
  let accuracy = 0;
  let reachedRound = Number.POSITIVE_INFINITY;
  let seconds = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await jobMetrics(url, TOKEN, id);
    const evaluations = m.filter((x) => x.name === 'test_accuracy');
    accuracy = Math.max(0, ...evaluations.map((x) => x.value));
    const job = await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`);
    // The time the evaluation that reached the target was recorded, not when this loop next looked.
    const first = evaluations.find((x) => x.value >= target);
    seconds = ((first?.at ?? Date.now()) - t0) / 1000;
    if (first) reachedRound = first.round;
    if (first || job.state === 'done') break;
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const coordinatorCpu = (cpu.user + cpu.system) / 1000 / (Date.now() - t0);
  const reached = Number.isFinite(reachedRound);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? 0);
  const backups = metric('grid_backup_leases_total');
  if (backups) console.log(`  ${label}: ${backups} backup leases of late shards`);
  const counted = (name: string, label: string) =>
    [...metrics.matchAll(new RegExp(`^${name}\\{${label}="([\\w-]+)"\\} (\\S+)$`, 'gm'))].map(([, k, n]) => `${k} ${n}`).join(', ');
  const steps = counted('grid_trusted_steps_total', 'on');
  if (steps) console.log(`  ${label}: judged rounds stepped on: ${steps}; volunteer results weighed: ${counted('grid_judged_results_total', 'weight')}`);
  const computed = procs.flatMap((p) =>
    p.output.filter((l) => l.includes('"msg":"computed"')).map((l) => JSON.parse(l) as { ms: number; t: string; round: number }),
  );
  const computeMs = computed.filter((c) => c.round <= reachedRound).map((c) => c.ms);
  const startup = (Math.min(...computed.map((c) => Date.parse(c.t) - c.ms)) - t0) / 1000;
  if (!reached) await coord.scheduler.idle();
  await api(url, TOKEN, `/api/jobs/${id}/cancel`, {}).catch(() => {});
  await coord.scheduler.transfers.flush(coord.store);
  const job = await coord.store.job(id);
  const jobBytes = Number(job?.bytes_up ?? 0) + Number(job?.bytes_down ?? 0);
  const allBytes = (await coord.store.listWorkers()).reduce((n, w) => n + Number(w.bytes_up) + Number(w.bytes_down), 0);
  const results = (await coord.store.results(id)).filter((r) => r.accepted && r.round <= reachedRound);
  const rounds = new Set(results.map((r) => r.round)).size;
  const samples = results.reduce((s, r) => s + r.samples, 0);
  for (const p of procs) p.child.kill('SIGKILL');
  await coord.close();
  const perRound = {
    wall: seconds / rounds,
    compute: computeMs.reduce((a, b) => a + b, 0) / 1000 / rounds / workers,
    close: metric('grid_round_close_seconds_sum') / Math.max(1, metric('grid_round_close_seconds_count')),
  };
  const closeParts = Object.fromEntries(
    [...metrics.matchAll(/^grid_round_close_part_seconds_sum\{part="([\w-]+)"\} (\S+)$/gm)].map(([, part, sum]) => [
      part,
      (Number(sum) * 1000) / Math.max(1, metric(`grid_round_close_part_seconds_count\\{part="${part}"\\}`)),
    ]),
  );
  return {
    label,
    workers,
    reached,
    closeParts,
    coordinatorCpu,
    startup,
    accuracy,
    seconds,
    samplesPerSecond: samples / seconds,
    bytesPerRound: results.reduce((s, r) => s + r.bytes, 0) / rounds,
    jobBytes,
    allBytes,
    perRound,
  };
}

export async function benchTrain() {
  if (PIN) pin(process.pid, 0);
  console.log(`Fashion-MNIST MLP 784-256-128-10 to ${TARGET * 100}% test accuracy (max ${MAX_EPOCHS} epochs), workers on ${BACKEND}`);
  const runs: Outcome[] = [];
  const print = (r: Outcome) => {
    const one = runs[0];
    const efficiency = r.label.startsWith('sync fp32')
      ? ` | scaling efficiency ${((r.samplesPerSecond / one.samplesPerSecond / r.workers) * 100).toFixed(0)}%`
      : '';
    console.log(
      `${r.label.padEnd(38)} | ${r.reached ? 'reached' : 'NOT reached'} ${(r.accuracy * 100).toFixed(2)}% in ${r.seconds.toFixed(0)} s | ${r.samplesPerSecond.toFixed(0)} samples/s${efficiency} | ${(r.bytesPerRound / 1e6).toFixed(2)} MB sent per round (${(r.bytesPerRound / one.bytesPerRound).toFixed(2)}x fp32 sync)`,
    );
  };
  const add = async (r: Promise<Outcome>) => {
    runs.push(await r);
    print(runs[runs.length - 1]);
    return runs[runs.length - 1];
  };
  const counts = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
  // BENCH_RUNS picks among sync (with the plain floor), straggler, bytes, trust, trust-seeds, local, int8, cnn, resnet.
  const wanted = new Set((process.env.BENCH_RUNS ?? 'sync,local,int8,cnn').split(','));
  if (wanted.has('sync')) await benchSync(counts, runs, add);
  if (wanted.has('straggler')) await benchStraggler(add);
  if (wanted.has('bytes')) await benchBytes(add);
  if (wanted.has('trust')) await benchTrust(add);
  if (wanted.has('trust-seeds')) await benchTrustSeeds();
  if (wanted.has('local'))
    await add(run('local-step H=4 (DiLoCo), 2 workers', 2, { mode: 'local', local: { steps: 4, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 }, evalEvery: 15 }));
  if (wanted.has('int8')) await add(run('sync int8 results, 2 workers', 2, { encoding: 'int8' }));
  const channels = (process.env.BENCH_CNN_CHANNELS ?? '16,32').split(',').map(Number);
  const cnn = { kind: 'cnn', input: [1, 28, 28], channels, kernel: 5, classes: 10 };
  const optimizer = { kind: 'adamw', lr: CNN_LR, weightDecay: 0, schedule: process.env.BENCH_CNN_SCHEDULE ?? 'cosine' };
  const cnnJob = { model: cnn, optimizer, globalBatch: 256, shardSize: 128, epochs: CNN_EPOCHS, evalEvery: 117 };
  if (wanted.has('cnn'))
    await add(run(`CNN conv${channels[0]}-pool-conv${channels[1]}-pool-dense, 1 worker (max ${CNN_EPOCHS} epochs)`, 1, cnnJob, CNN_TARGET));
  if (wanted.has('resnet')) await benchResnet(add);
}

/** The ResNet preset to RESNET_TARGET on one worker, and the same job in a plain process on the same engine. */
async function benchResnet(add: (r: Promise<Outcome>) => Promise<Outcome>) {
  // The recipe ResNets are trained with (He et al. 2016): SGD with momentum and L2 decay. AdamW at 3e-3 with decay 1e-4
  // (a decay that does next to nothing at that rate) peaked at 91.84% in 10 epochs and fell back as it overfitted;
  // this recipe reached 92.38% in 10 epochs (92.17-92.38 over its last four evaluations), short of the target: 15 here.
  const optimizer = { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, schedule: 'cosine' };
  const dataset = { ...base.dataset, ...(RESNET_AUGMENT ? { augment: RESNET_AUGMENT } : {}) };
  const job = { model: RESNET, dataset, optimizer, globalBatch: 256, shardSize: 128, epochs: RESNET_EPOCHS, evalEvery: 117, checkpointEvery: 500 };
  const grid = await add(
    run(
      `ResNet-8 preset (16-32-64, batch norm${RESNET_AUGMENT ? `, ${describeAugment(RESNET_AUGMENT)}` : ''}), 1 worker (max ${RESNET_EPOCHS} epochs)`,
      1,
      job,
      RESNET_TARGET,
    ),
  );
  const plain = await trainPlain({ ...base, ...job }, RESNET_TARGET, RESNET_PLAIN_EPOCHS);
  console.log(
    `plain process, onnxruntime-node, same ResNet job: ${plain.reached ? 'reached' : 'NOT reached'} ${(plain.accuracy * 100).toFixed(2)}% in ${plain.seconds.toFixed(0)} s, ` +
      `${plain.samplesPerSecond.toFixed(0)} samples/s | grid/plain samples/s ${(grid.samplesPerSecond / plain.samplesPerSecond).toFixed(2)}` +
      (grid.reached && plain.reached ? `, time to ${RESNET_TARGET * 100}% ${(grid.seconds / plain.seconds).toFixed(2)}` : ''),
  );
}

async function benchSync(counts: number[], runs: Outcome[], add: (r: Promise<Outcome>) => Promise<Outcome>) {
  for (const n of counts) await add(run(`sync fp32, ${n} worker(s)`, n));
  const one = runs[0];
  // BENCH_REPEAT pairs of (grid by rate, plain), one after the other: the plain run alone moves by a third here.
  const ratios: number[] = [];
  let sized = one;
  for (let i = 0; i < REPEAT; i++) {
    sized = await add(run('sync fp32, 1 worker, shards sized by rate', 1, { shardSizing: 'by-rate' }));
    const plain = await trainPlain(base, TARGET, MAX_EPOCHS);
    ratios.push(sized.seconds / plain.seconds);
    const plainRounds = Math.round((plain.samplesPerSecond * plain.seconds) / base.globalBatch);
    console.log(
      `plain process, onnxruntime-node, same job: ${plain.reached ? 'reached' : 'NOT reached'} ${(plain.accuracy * 100).toFixed(2)}% in ${plain.seconds.toFixed(1)} s, ` +
        `${plainRounds} steps of ${((plain.seconds / plainRounds) * 1000).toFixed(1)} ms (the grid by rate: ${(sized.seconds / sized.perRound.wall).toFixed(0)} rounds) | ` +
        `grid/plain ${(one.seconds / plain.seconds).toFixed(2)}, with shards sized by rate ${(sized.seconds / plain.seconds).toFixed(2)} (goal <= 1.5)`,
    );
  }
  if (REPEAT > 1) console.log(`by rate, ${REPEAT} pairs: grid/plain ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
  for (const r of [one, sized]) {
    const { wall, compute, close } = r.perRound;
    console.log(
      `  a round of "${r.label}": ${(wall * 1000).toFixed(1)} ms = worker compute ${(compute * 1000).toFixed(1)} ms + close (aggregate, step, store) ` +
        `${(close * 1000).toFixed(1)} ms + transfer, leasing and waiting ${((wall - compute - close) * 1000).toFixed(1)} ms ` +
        `(the job's start, submission to its first shard computed, ${r.startup.toFixed(2)} s of it)`,
    );
    const parts = Object.entries(r.closeParts).map(([part, ms]) => `${part} ${ms.toFixed(2)}`);
    console.log(`    the close, part by part (ms): ${parts.join(', ')}`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * What the root of trust costs one worker's job: off, on (the operator's worker), on with a volunteer's (spot-checked);
 * and in the volunteer mode (local steps, judged against the coordinator's own local steps), a volunteer's, off and on.
 */
async function benchTrust(add: (r: Promise<Outcome>) => Promise<Outcome>) {
  if (process.env.BENCH_TRUST_ONLY === 'volunteer') {
    const r = await add(run('sync fp32, 1 volunteer worker, root of trust', 1, {}, TARGET, 1, true));
    return console.log(
      Object.entries(r.closeParts)
        .map(([part, ms]) => `${part} ${ms.toFixed(2)}`)
        .join(', '),
    );
  }
  const off = await add(run('sync fp32, 1 worker, no reference', 1, { aggregation: { reference: 0 } }));
  const on = await add(run('sync fp32, 1 worker, root of trust', 1));
  const checked = await add(run('sync fp32, 1 volunteer worker, root of trust', 1, {}, TARGET, 1, true));
  const localOff = await add(run('volunteer mode, 1 volunteer worker, no reference', 1, { ...VOLUNTEER_MODE, aggregation: { reference: 0 } }, TARGET, 1, true));
  const localOn = await add(run('volunteer mode, 1 volunteer worker, root of trust', 1, VOLUNTEER_MODE, TARGET, 1, true));
  for (const [r, base] of [
    [on, off],
    [checked, off],
    [localOn, localOff],
  ])
    console.log(
      `root of trust (${r.label}): time to ${TARGET * 100}% ${(r.seconds / base.seconds).toFixed(2)}x without it (goal <= 1.15); ` +
        `coordinator busy ${(r.coordinatorCpu * 100).toFixed(0)}% vs ${(base.coordinatorCpu * 100).toFixed(0)}% of a core; ` +
        `round close ${(r.perRound.close * 1000).toFixed(1)} ms vs ${(base.perRound.close * 1000).toFixed(1)} ms ` +
        `(${Object.entries(r.closeParts)
          .map(([part, ms]) => `${part} ${ms.toFixed(2)}`)
          .join(', ')})`,
    );
}

/**
 * A run to 88% follows one trajectory per seed, and a change in the last float of a cosine picks another (one seed
 * took 785 rounds in one build and 1,075 in the next): the volunteer's cost over three seeds, rounds and time apart.
 */
async function benchTrustSeeds() {
  const seeds = [2, 3, 4];
  const rows = { off: [] as Outcome[], volunteer: [] as Outcome[] };
  for (const seed of seeds) {
    if (process.env.BENCH_TRUST_ONLY !== 'volunteer')
      rows.off.push(await run(`seed ${seed}, operator's worker, no reference`, 1, { seed, aggregation: { reference: 0 } }));
    rows.volunteer.push(await run(`seed ${seed}, volunteer's worker, root of trust`, 1, { seed }, TARGET, 1, true));
  }
  const rounds = (r: Outcome) => r.seconds / r.perRound.wall;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name, rs] of Object.entries(rows).filter(([, rs]) => rs.length))
    console.log(
      `${name.padEnd(10)} | ${rs.map((r) => `${r.reached ? '' : 'NOT '}${rounds(r).toFixed(0)} rounds in ${r.seconds.toFixed(1)} s`).join(' | ')} | ` +
        `mean ${mean(rs.map(rounds)).toFixed(0)} rounds, ${mean(rs.map((r) => r.seconds)).toFixed(1)} s, ${(mean(rs.map((r) => r.perRound.wall)) * 1000).toFixed(1)} ms a round, ` +
        `coordinator busy ${(mean(rs.map((r) => r.coordinatorCpu)) * 100).toFixed(0)}% of a core`,
    );
  if (!rows.off.length) return; // BENCH_TRUST_ONLY=volunteer: compared with an earlier run's
  const ratio = (f: (r: Outcome) => number) => (mean(rows.volunteer.map(f)) / mean(rows.off.map(f))).toFixed(2);
  console.log(
    `root of trust for a volunteer over seeds ${seeds.join(', ')}: time to ${TARGET * 100}% ${ratio((r) => r.seconds)}x (goal <= 1.15) = ` +
      `rounds ${ratio(rounds)}x, time per round ${ratio((r) => r.perRound.wall)}x`,
  );
}

/** Three workers, one of them 5x slower: time to target against three healthy workers and against the two fast ones alone. */
async function benchStraggler(add: (r: Promise<Outcome>) => Promise<Outcome>) {
  const healthy = await add(run('sync fp32, 3 workers', 3));
  const two = await add(run('sync fp32, 2 workers (the slow one absent)', 2));
  const slowed = await add(run('sync fp32, 3 workers, one slowed 5x', 3, {}, TARGET, 5));
  const sized = await add(run('sync fp32, 3 workers, one slowed 5x, shards sized by rate', 3, { shardSizing: 'by-rate' }, TARGET, 5));
  for (const r of [slowed, sized])
    console.log(
      `straggler (${r.label}): time to ${TARGET * 100}% is ${(r.seconds / healthy.seconds).toFixed(2)}x three healthy workers' ` +
        `and ${(r.seconds / two.seconds).toFixed(2)}x the two fast ones' alone (target <= 1.3)`,
    );
}

/** The volunteer mode (settings in README): local steps, int8 results up and int8 parameter deltas down. */
export const VOLUNTEER_MODE = {
  mode: 'local',
  local: { steps: 16, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 },
  globalBatch: 256,
  encoding: 'int8',
  download: 'int8-delta',
  evalEvery: 7,
};

/** Bytes to target, all workers up and down: sync fp32, sync int8 both ways, and the volunteer mode; ratios to sync fp32. */
async function benchBytes(add: (r: Promise<Outcome>) => Promise<Outcome>) {
  const fp32 = await add(run('sync fp32, 2 workers', 2));
  const int8 = await add(run('sync int8 both ways, 2 workers', 2, { encoding: 'int8', download: 'int8-delta' }));
  const volunteer = await add(run('volunteer mode (local H=16, int8 both ways), 2 workers', 2, VOLUNTEER_MODE));
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  for (const r of [fp32, int8, volunteer])
    console.log(
      `bytes: ${r.label.padEnd(56)} | ${r.reached ? 'reached' : 'NOT reached'} in ${r.seconds.toFixed(0)} s | parameters, results and messages ${mb(r.jobBytes)} ` +
        `(${(fp32.jobBytes / r.jobBytes).toFixed(1)}x fewer than sync fp32; target >= 50x for the volunteer mode) | with the data set ${mb(r.allBytes)} (${(fp32.allBytes / r.allBytes).toFixed(1)}x fewer)`,
    );
}
