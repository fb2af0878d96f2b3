import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runLog } from '../protocol/run-log';
import { compareSpecs } from '../protocol/spec-diff';
import { GridClient } from './client';

// The researcher's command line, on commander: help on every command, "did you mean" for a mistyped one, exit 2
// on a usage error and 1 on a refusal (with its code) or a failed job.

interface JobRow {
  id: number;
  name: string;
  state: string;
  round: number;
  totalRounds: number;
  createdAt: number;
  updatedAt: number;
  error: string | null;
  spec: unknown;
}
type MetricRow = { id: number; round: number; name: string; value: number; at: number };

/** A mistake in the command line found while running it (commander reports the ones it finds itself). */
class UsageError extends Error {}

const jobId = (text: string) => {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`"${text}" is not a job id`);
  return id;
};

const program = new Command('grid')
  .description("the researcher's command line for the volunteer compute grid")
  .addOption(new Option('--coordinator <url>', 'the coordinator').env('GRID_COORDINATOR').default('http://localhost:8080'))
  .addOption(new Option('--token <token>', 'a researcher token, sent in a header, never in a URL').env('GRID_TOKEN'))
  .showSuggestionAfterError()
  .exitOverride();

const client = () => {
  const { coordinator, token } = program.opts<{ coordinator: string; token?: string }>();
  if (!token) program.error('a token is needed: --token or GRID_TOKEN', { exitCode: 2 });
  return new GridClient(coordinator, token as string);
};
const table = (header: string[], rows: string[][]) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows])
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
};

const jobs = program.command('jobs').description('submit, follow, control and take out jobs');
jobs
  .command('submit <spec>')
  .description('submit a job from a JSON spec file; prints its id')
  .action(async (spec: string) => console.log((await client().json<{ id: number }>('POST', '/api/jobs', JSON.parse(readFileSync(spec, 'utf8')))).id));
jobs
  .command('list')
  .description("your jobs (an operator's token: everyone's)")
  .option('--json', 'as JSON')
  .action(async (o: { json?: boolean }) => {
    const list = await client().json<JobRow[]>('GET', '/api/jobs');
    if (o.json) return console.log(JSON.stringify(list, null, 2));
    table(
      ['ID', 'STATE', 'ROUND', 'NAME'],
      list.map((j) => [String(j.id), j.state, `${j.round}/${j.totalRounds}`, j.name]),
    );
  });
jobs
  .command('show <id>')
  .description('one job as the API gives it (JSON)')
  .action(async (id: string) => console.log(JSON.stringify(await client().json('GET', `/api/jobs/${jobId(id)}`), null, 2)));
for (const action of ['pause', 'resume', 'cancel'] as const)
  jobs
    .command(`${action} <id>`)
    .description(`${action} a job you own`)
    .action(async (id: string) => {
      await client().json('POST', `/api/jobs/${jobId(id)}/${action}`);
      console.log(`${action} job ${id}`);
    });
jobs
  .command('watch <id>')
  .description('follow a job until it ends: a progress bar on a terminal, JSON lines otherwise; exit 1 unless done')
  .action(async (id: string) => {
    if ((await client().watch(jobId(id), process.stdout.isTTY ? 'bar' : 'json')) !== 'done') process.exitCode = 1;
  });
jobs
  .command('logs <id>')
  .description('the run log: submission, evaluations, refused results, the end (newest first)')
  .option('--json', 'as JSON lines')
  .action(async (id: string, o: { json?: boolean }) => {
    const grid = client();
    const job = await grid.json<JobRow>('GET', `/api/jobs/${jobId(id)}`);
    const [metrics, detail] = await Promise.all([
      grid.metrics<MetricRow>(job.id),
      grid.json<{ refusals: { createdAt: number; round: number; shard: number; reason: string; workerId: string }[] }>('GET', `/api/jobs/${job.id}/workers`),
    ]);
    for (const l of runLog(job, metrics, detail.refusals))
      console.log(o.json ? JSON.stringify(l) : `${new Date(l.at).toISOString()}  ${l.kind.padEnd(10)}  ${l.text}`);
  });
jobs
  .command('metrics <id>')
  .description('every metric as CSV: a row per round, a column per metric')
  .action(async (id: string) => {
    process.stdout.write(await client().text(`/api/jobs/${jobId(id)}/metrics.csv`));
  });
jobs
  .command('compare <ids...>')
  .description('runs side by side: the settings that differ, then each run’s last value of every metric')
  .option('--all', 'every setting, not only those that differ')
  .action(async (ids: string[], o: { all?: boolean }) => {
    const grid = client();
    const runs = await Promise.all(
      ids.map(jobId).map(async (id) => ({
        job: await grid.json<JobRow>('GET', `/api/jobs/${id}`),
        metrics: await grid.metrics<MetricRow>(id),
      })),
    );
    const header = ['SETTING', ...runs.map((r) => `job ${r.job.id}`)];
    const settings = compareSpecs(runs.map((r) => r.job.spec)).filter((r) => o.all || r.differs);
    const names = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.name)))].sort();
    const lastOf = (metrics: MetricRow[], name: string) => metrics.filter((m) => m.name === name).at(-1)?.value;
    table(header, [...settings.map((s) => [s.key, ...s.values]), ...names.map((n) => [n, ...runs.map((r) => String(lastOf(r.metrics, n) ?? ''))])]);
  });
jobs
  .command('generate <id> <prompt>')
  .description("continue a prompt with a language model's latest checkpoint (or --round's); prints the prompt and what follows")
  .option('--tokens <n>', 'how many tokens to write', '100')
  .option('--temperature <t>', 'sampling temperature; 0 takes the likeliest token', '0.8')
  .option('--top-k <k>', 'sample among the k likeliest tokens only')
  .option('--seed <s>', 'the same seed gives the same text', '1')
  .option('--round <r>', "a checkpoint's round instead of the latest")
  .option('--json', 'as JSON: {prompt, text}')
  .action(async (id: string, prompt: string, o: { tokens: string; temperature: string; topK?: string; seed: string; round?: string; json?: boolean }) => {
    // The coordinator checks every number and names the one it refuses.
    const ask = { prompt, maxTokens: Number(o.tokens), temperature: Number(o.temperature), seed: Number(o.seed) };
    const body = { ...ask, ...(o.topK !== undefined && { topK: Number(o.topK) }), ...(o.round !== undefined && { round: Number(o.round) }) };
    const { text } = await client().json<{ text: string }>('POST', `/api/jobs/${jobId(id)}/generate`, body);
    console.log(o.json ? JSON.stringify({ prompt, text }) : prompt + text);
  });
jobs
  .command('samples <id>')
  .description('what a language model wrote at its evaluations, the latest first')
  .option('--json', 'as JSON lines')
  .action(async (id: string, o: { json?: boolean }) => {
    const samples = await client().json<{ round: number; prompt: string; text: string }[]>('GET', `/api/jobs/${jobId(id)}/samples`);
    for (const s of samples) console.log(o.json ? JSON.stringify(s) : `round ${s.round}: ${JSON.stringify(s.prompt + s.text)}`);
  });
jobs
  .command('download <id>')
  .description("a trained model (--onnx), a checkpoint (--checkpoint), a language model's tokenizer (--tokenizer), or an inference job's outputs (--output)")
  .option('--onnx', 'the model as ONNX (a language model: input_ids of any length to logits, its tokenizer inside)')
  .option('--tokenizer', "a language model's tokenizer.json (Hugging Face's format)")
  .option('--checkpoint', 'the parameters as safetensors')
  .addOption(new Option('--output <format>', "an inference job's outputs (partial while it runs)").choices(['npy', 'csv']))
  .option('--round <round>', 'that round’s checkpoint, not the latest', (v) => Number(v))
  .option('--out <file>', 'where to write it')
  .action(async (id: string, o: { onnx?: boolean; checkpoint?: boolean; tokenizer?: boolean; output?: 'npy' | 'csv'; round?: number; out?: string }) => {
    const grid = client();
    if (o.tokenizer) {
      const file = o.out ?? `job-${jobId(id)}-tokenizer.json`;
      writeFileSync(file, await grid.text(`/api/jobs/${jobId(id)}/tokenizer.json`));
      return console.log(file);
    }
    if (o.output) {
      const out = await grid.outputs(jobId(id), o.output);
      writeFileSync(o.out ?? out.filename, out.bytes);
      return console.log(`${o.out ?? out.filename}${out.rows && out.rowsDone !== out.rows ? ` (${out.rowsDone} of ${out.rows} rows so far)` : ''}`);
    }
    if (Boolean(o.onnx) === Boolean(o.checkpoint)) program.error('say --onnx, --checkpoint, --tokenizer or --output', { exitCode: 2 });
    const { bytes, filename } = await grid.download(jobId(id), o.onnx ? 'onnx' : 'checkpoint', o.round);
    writeFileSync(o.out ?? filename, bytes);
    console.log(o.out ?? filename);
  });
program
  .command('models')
  .description('models for inference and fine-tuning')
  .command('register <file>')
  .description('register an ONNX model (checked by the coordinator)')
  .option('--name <name>', 'its name (default: the file name)')
  .action(async (file: string, o: { name?: string }) => {
    const model = await client().json('POST', `/api/models?name=${encodeURIComponent(o.name ?? file)}`, readFileSync(file));
    console.log(JSON.stringify(model, null, 2));
  });

program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2); // help exits 0; usage errors 2 (commander printed them)
    console.error(`grid: ${e?.message ?? e}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
