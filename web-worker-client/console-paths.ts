/** The console's addresses: each view, a run and a comparison can be reloaded, bookmarked and shared. */

/** The console's views, each at /console/<view> (runs at /console itself). */
export const VIEWS = ['runs', 'datasets', 'models', 'workers', 'tokens', 'audit'] as const;
export type View = (typeof VIEWS)[number];
export const VIEW_TITLES: Record<View, string> = {
  runs: 'Runs',
  datasets: 'Data sets',
  models: 'Models',
  workers: 'Workers',
  tokens: 'Tokens',
  audit: 'Audit log',
};

export const viewPath = (v: View) => (v === 'runs' ? '/console' : `/console/${v}`);

/** The view an address shows: a run's page and a comparison belong to the runs. */
export function viewInPath(path: string): View {
  const m = /^\/console\/([a-z]+)\/?$/.exec(path);
  return m && (VIEWS as readonly string[]).includes(m[1]) ? (m[1] as View) : 'runs';
}

/** A run's own address in the console. */
export const jobPath = (id: number) => `/console/jobs/${id}`;
export const jobInPath = (path: string) => {
  const m = /^\/console\/jobs\/(\d{1,9})\/?$/.exec(path);
  return m ? Number(m[1]) : undefined;
};

/** Runs compared side by side have one address too: `/console/compare?ids=3,5`. */
export const comparePath = (ids: number[]) => `/console/compare?ids=${ids.join(',')}`;
export const comparedIn = (where: Pick<Location, 'pathname' | 'search'>) => {
  if (!/^\/console\/compare\/?$/.test(where.pathname)) return undefined;
  const ids = (new URLSearchParams(where.search).get('ids') ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return ids.length ? ids.slice(0, 8) : undefined;
};
