import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GridClient } from './client';

const HELP = `grid: the researcher's command line for the volunteer compute grid

  grid jobs submit SPEC.json         submit a job; prints its id
  grid jobs list                     your jobs (an operator's token: everyone's)
  grid jobs show ID                  one job as the API gives it (JSON)
  grid jobs pause|resume|cancel ID   control a job you own
  grid jobs watch ID                 follow a job until it ends: a progress bar on a terminal, JSON lines otherwise
  grid jobs download ID --onnx|--checkpoint [--round R] [--out FILE]
  grid jobs download ID --output npy|csv [--out FILE]   an inference job's outputs (partial while it runs)
  grid models register FILE.onnx [--name NAME]

  --coordinator URL   (default http://localhost:8080, or GRID_COORDINATOR)
  --token TOKEN       a researcher token (or GRID_TOKEN); sent in a header, never in a URL
Exit status: 0 on success (watch: the job finished), 1 on a refusal or a failed job, 2 on a usage error.`;

class UsageError extends Error {}

/** The arguments, or a usage error (exit 2) instead of a stack trace for an option that does not exist. */
function parsed() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        coordinator: { type: 'string', default: process.env.GRID_COORDINATOR ?? 'http://localhost:8080' },
        token: { type: 'string', default: process.env.GRID_TOKEN },
        onnx: { type: 'boolean', default: false },
        output: { type: 'string' },
        checkpoint: { type: 'boolean', default: false },
        round: { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    console.error(`grid: ${(e as Error).message}; see grid --help`);
    process.exit(2);
  }
}
const { values: opts, positionals } = parsed();

async function main(): Promise<number> {
  const [group, command, arg] = positionals;
  if (opts.help || !group) {
    console.log(HELP);
    return opts.help ? 0 : 2;
  }
  if (!opts.token) throw new UsageError('a token is needed: --token or GRID_TOKEN');
  const grid = new GridClient(opts.coordinator ?? '', opts.token);
  const need = (what: string) => {
    if (!arg) throw new UsageError(`${group} ${command} needs ${what}`);
    return arg;
  };
  switch (`${group} ${command}`) {
    case 'jobs submit': {
      const { id } = await grid.json<{ id: number }>('POST', '/api/jobs', JSON.parse(readFileSync(need('a spec file'), 'utf8')));
      console.log(id);
      return 0;
    }
    case 'jobs list': {
      const row = (id: string, state: string, rounds: string, name: string) => `${id.padStart(5)}  ${state.padEnd(9)} ${rounds.padStart(11)}  ${name}`;
      console.log(row('ID', 'STATE', 'ROUND', 'NAME'));
      for (const j of await grid.json<{ id: number; name: string; state: string; round: number; totalRounds: number }[]>('GET', '/api/jobs'))
        console.log(row(String(j.id), j.state, `${j.round}/${j.totalRounds}`, j.name));
      return 0;
    }
    case 'jobs show':
      console.log(JSON.stringify(await grid.json('GET', `/api/jobs/${jobId(need('a job id'))}`), null, 2));
      return 0;
    case 'jobs pause':
    case 'jobs resume':
    case 'jobs cancel':
      await grid.json('POST', `/api/jobs/${jobId(need('a job id'))}/${command}`);
      console.log(`${command} job ${arg}`);
      return 0;
    case 'jobs watch':
      return (await grid.watch(jobId(need('a job id')), process.stdout.isTTY ? 'bar' : 'json')) === 'done' ? 0 : 1;
    case 'jobs download': {
      const id = Number(need('a job id'));
      if (opts.output !== undefined) {
        if (opts.output !== 'npy' && opts.output !== 'csv') throw new UsageError('--output takes npy or csv');
        const out = await grid.outputs(id, opts.output);
        writeFileSync(opts.out ?? out.filename, out.bytes);
        console.log(`${opts.out ?? out.filename}${out.rows && out.rowsDone !== out.rows ? ` (${out.rowsDone} of ${out.rows} rows so far)` : ''}`);
        return 0;
      }
      if (opts.onnx === opts.checkpoint) throw new UsageError('say --onnx, --checkpoint or --output');
      const { bytes, filename } = await grid.download(id, opts.onnx ? 'onnx' : 'checkpoint', opts.round === undefined ? undefined : Number(opts.round));
      writeFileSync(opts.out ?? filename, bytes);
      console.log(opts.out ?? filename);
      return 0;
    }
    case 'models register': {
      const file = need('an ONNX file');
      const model = await grid.json<{ sha256: string }>('POST', `/api/models?name=${encodeURIComponent(opts.name ?? file)}`, readFileSync(file));
      console.log(JSON.stringify(model, null, 2));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${group} ${command ?? ''}"; see grid --help`);
  }
}

function jobId(text: string) {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`"${text}" is not a job id`);
  return id;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`grid: ${e?.message ?? e}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
