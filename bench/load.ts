import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { encodeTensor } from '../protocol/frames';
import { PROTOCOL_VERSION, workerProtocols } from '../protocol/messages';
import { type Proc, spawnTs, tempDir } from '../test/helpers';

const WORKERS = Number(process.env.LOAD_WORKERS ?? 10_000);
const WINDOW_S = Number(process.env.LOAD_SECONDS ?? 20);
const TOKEN = 'gt_bench_load_operator';
const caps = { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 100 };

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;

/** Hold `n` simulated workers against `url` for the window; answer every assignment at once with a valid result. */
async function simulate(url: string, token: string, n: number, answer: boolean) {
  const sockets: WebSocket[] = [];
  let welcomed = 0;
  const closes: Record<number, number> = {};
  const refusals: Record<string, number> = {};
  let acked = 0;
  const grad = (a: { jobId: number; round: number; shard: number; assignmentId: number }, size: number) =>
    encodeTensor(
      { kind: 'gradient', job: a.jobId, round: a.round, shard: a.shard },
      new Float32Array(size).map((_, i) => 0.01 * ((i % 7) + 1) * (1 + a.assignmentId * 1e-6)),
      'f32',
    );
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, () => {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, workerProtocols(token));
        sockets.push(ws);
        ws.on('error', () => {});
        ws.on('close', (code) => {
          closes[code] = (closes[code] ?? 0) + 1;
        });
        ws.on('message', (data, binary) => {
          if (binary) return;
          const m = JSON.parse(data.toString());
          if (m.type === 'welcome') {
            welcomed++;
            ws.send(JSON.stringify({ type: 'ready', slots: 1 }));
          } else if (m.type === 'ack') acked++;
          else if (m.type === 'error') refusals[m.code] = (refusals[m.code] ?? 0) + 1;
          else if (m.type === 'assign' && answer) {
            ws.send(
              JSON.stringify({ type: 'result', assignmentId: m.assignmentId, paramsVersion: m.paramsVersion, samples: m.data.count, loss: 0.69, correct: 1 }),
            );
            ws.send(grad(m, 4 * 8 + 8 + 8 * 2 + 2));
          }
        });
        return new Promise<void>((r) => {
          ws.once('open', () => {
            ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: caps }));
            r();
          });
          ws.once('close', () => r());
        });
      }),
    );
  }
  const heartbeat = setInterval(() => {
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'heartbeat', t: Date.now() }));
  }, 5000);
  const latencies: number[] = [];
  const ackedBefore = acked;
  const end = performance.now() + WINDOW_S * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await fetch(`${url}/health`).then((r) => r.text());
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  const open = sockets.filter((s) => s.readyState === s.OPEN).length;
  if (Object.keys(closes).length || Object.keys(refusals).length)
    console.log(`closed during the run by code: ${JSON.stringify(closes)}; refusals: ${JSON.stringify(refusals)}`);
  clearInterval(heartbeat);
  for (const s of sockets) s.terminate();
  return { open, welcomed, resultsPerS: (acked - ackedBefore) / WINDOW_S, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

async function listening(p: Proc, re: RegExp) {
  return JSON.parse(await p.waitFor(re, 60_000)).port as number;
}

/** A free port, so the coordinator can log warnings only and still be found. */
const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => r(port));
    });
  });

/** `npm run bench -- load`: simulated workers against the coordinator while a job trains, and against plain `ws`. */
export async function benchLoad() {
  const dir = tempDir('grid-load-');
  const port = await freePort();
  const coord = spawnTs('coordinator/main.ts', [], {
    GRID_DATA_DIR: dir,
    PORT: String(port),
    GRID_WEB_DIR: `${dir}/web`,
    GRID_OPERATOR_TOKEN: TOKEN,
    GRID_MAX_SOCKETS_PER_TOKEN: String(WORKERS * 2),
    LOG_LEVEL: 'warn', // a line per worker joining would be the benchmark
  });
  const url = `http://127.0.0.1:${port}`;
  for (
    let i = 0;
    i < 600 &&
    !(await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const auth = { authorization: `Bearer ${TOKEN}` };
  const { token } = (await (
    await fetch(`${url}/api/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'load', scopes: ['worker'], ratePerMin: 1_000_000 }) })
  ).json()) as { token: string };
  const csv = Array.from({ length: 2000 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${(i % 3) / 3},${(i % 11) / 11},${i % 2}`).join('\n');
  await fetch(`${url}/api/datasets/load/train`, { method: 'POST', headers: auth, body: csv });
  const job = {
    name: 'load',
    model: { kind: 'mlp', layers: [4, 8, 2] },
    dataset: { name: 'load' },
    optimizer: { kind: 'sgd', lr: 0.05 },
    globalBatch: 256,
    shardSize: 8,
    rounds: 100_000,
  };
  await fetch(`${url}/api/jobs`, { method: 'POST', headers: auth, body: JSON.stringify(job) });
  const grid = await simulate(url, token, WORKERS, true);
  const gridRss = rssMb(coord.child.pid as number);
  coord.child.kill('SIGKILL');

  const plain = spawnTs('bench/load-ws-server.ts');
  const plainUrl = `http://127.0.0.1:${await listening(plain, /listening/)}`;
  const base = await simulate(plainUrl, 'x', WORKERS, false);
  const baseRss = rssMb(plain.child.pid as number);
  plain.child.kill('SIGKILL');

  const row = (name: string, r: typeof grid, rss: number) =>
    `${name.padEnd(34)} ${String(r.open).padStart(6)} held  ${r.resultsPerS.toFixed(0).padStart(6)} results/s  /health p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms  RSS ${rss.toFixed(0)} MB`;
  console.log(`${WORKERS} simulated workers, ${WINDOW_S} s window, heartbeats every 5 s, 2-core machine (clients in this process)`);
  console.log(row('coordinator (uWS) while a job trains', grid, gridRss));
  console.log(row('ws + node:http, hello/heartbeat only', base, baseRss));
  console.log(
    `ratio: coordinator /health p99 ${(grid.p99 / base.p99).toFixed(2)}x the ws baseline's; RSS per connection ${((gridRss * 1024) / grid.open).toFixed(1)} KB vs ${((baseRss * 1024) / base.open).toFixed(1)} KB`,
  );
}
