import { refusalOf } from '../protocol/errors';
import { everyMetric } from '../protocol/metric-pages';
/** The coordinator's REST API as the CLI uses it: the token in a header, refusals as errors with their code. */
export class GridClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const binary = body instanceof Uint8Array;
    const res = await fetch(`${this.base.replace(/\/$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && !binary ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : binary ? body : JSON.stringify(body),
    });
    if (!res.ok) throw await refusalOf(res);
    return res;
  }

  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text();
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /** Every metric point of the job, page by page. */
  metrics<T extends { id: number; name: string; value: number }>(id: number): Promise<T[]> {
    return everyMetric((since) => this.json<T[]>('GET', `/api/jobs/${id}/metrics?since=${since}`));
  }

  /** The job's latest (or `round`'s) checkpoint as safetensors, or its model as ONNX. */
  async download(id: number, what: 'onnx' | 'checkpoint', round?: number) {
    const r = round ?? (await this.json<{ round: number }[]>('GET', `/api/jobs/${id}/checkpoints`)).at(-1)?.round;
    if (r === undefined) throw new Error(`job ${id} has no checkpoint yet`);
    const res = await this.request('GET', `/api/jobs/${id}/checkpoints/${r}${what === 'onnx' ? '/model.onnx' : ''}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), filename: `job-${id}-round-${r}.${what === 'onnx' ? 'onnx' : 'safetensors'}` };
  }

  /** An inference job's outputs as `.npy` or `.csv` (partial while it runs: `rowsDone` of `rows`). */
  async outputs(id: number, format: 'npy' | 'csv') {
    const res = await this.request('GET', `/api/jobs/${id}/output.${format}`);
    const rows = res.headers.get('grid-rows');
    return { bytes: new Uint8Array(await res.arrayBuffer()), filename: `job-${id}-output.${format}`, rows, rowsDone: res.headers.get('grid-rows-done') };
  }

  /** Follow a job until it is done, failed or cancelled; returns that state. */
  async watch(id: number, style: 'bar' | 'json', everyMs = 1000): Promise<string> {
    for (;;) {
      const j = await this.json<{ state: string; round: number; totalRounds: number; name: string }>('GET', `/api/jobs/${id}`);
      const metrics = await this.metrics(id);
      const last = (name: string) => metrics.filter((m) => m.name === name).at(-1)?.value;
      const [loss, accuracy] = [last('train_loss'), last('test_accuracy')];
      if (style === 'json') console.log(JSON.stringify({ job: id, state: j.state, round: j.round, totalRounds: j.totalRounds, loss, testAccuracy: accuracy }));
      else {
        const filled = Math.round((30 * j.round) / Math.max(1, j.totalRounds));
        const acc = accuracy === undefined ? '' : ` test ${(accuracy * 100).toFixed(2)}%`;
        process.stdout.write(
          `\r${j.name} [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${j.round}/${j.totalRounds} ${j.state} loss ${loss?.toFixed(4) ?? '-'}${acc}   `,
        );
      }
      if (['done', 'failed', 'cancelled'].includes(j.state)) {
        if (style === 'bar') process.stdout.write('\n');
        return j.state;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
