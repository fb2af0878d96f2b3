/** Points the coordinator answers at most per metrics request; a longer run's points come in pages. */
export const METRICS_PAGE = 10_000;

/**
 * Every metric point of a job after id `from`, however long its run: `page(since)` asks for the points after id
 * `since` (the REST API's `/api/jobs/:id/metrics?since=`), until a page comes back short. The CLI, the console and
 * the benches read through it; reading one page showed a run of 2,000 rounds without its final evaluation.
 */
export async function everyMetric<T extends { id: number }>(page: (since: number) => Promise<T[]>, from = 0): Promise<T[]> {
  const all: T[] = [];
  for (let since = from; ; ) {
    const got = await page(since);
    all.push(...got);
    if (got.length < METRICS_PAGE) return all;
    since = got[got.length - 1].id;
  }
}
