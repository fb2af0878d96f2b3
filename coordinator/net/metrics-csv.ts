/** A job's metric points as the store keeps them. */
export interface MetricPoint {
  round: number;
  name: string;
  value: number;
  at: number;
}

// NaN and Infinity are written as JavaScript spells them, which pandas reads as such.
const cell = (v: number | undefined) => (v === undefined ? '' : String(v));
const quoted = (name: string) => (/[",\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name);

/**
 * A job's metrics as one wide CSV, the shape a notebook loads into a data frame: a row per round that has any, its
 * time (ISO 8601, the first point recorded at that round), then one column per metric name, sorted; empty where a
 * metric has no point at that round (evaluations run every few rounds). A name recorded twice at a round (a round
 * run again after a restart) keeps its last value.
 */
export function metricsCsv(points: readonly MetricPoint[]): string {
  const names = [...new Set(points.map((p) => p.name))].sort();
  const rows = new Map<number, { at: number; values: Map<string, number> }>();
  for (const p of points) {
    const row = rows.get(p.round) ?? { at: p.at, values: new Map() };
    row.at = Math.min(row.at, p.at);
    row.values.set(p.name, p.value);
    rows.set(p.round, row);
  }
  const header = ['round', 'time', ...names.map(quoted)].join(',');
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([round, row]) => [String(round), new Date(row.at).toISOString(), ...names.map((n) => cell(row.values.get(n)))].join(','));
  return `${[header, ...lines].join('\n')}\n`;
}
