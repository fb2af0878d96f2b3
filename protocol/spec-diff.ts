/** A spec's settings as dotted keys (`optimizer.lr`), arrays and scalars as their JSON: rows of a comparison table. */
export function flattenSpec(spec: unknown, prefix = ''): Record<string, string> {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return { [prefix || 'value']: JSON.stringify(spec) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenSpec(v, key));
    else out[key] = JSON.stringify(v);
  }
  return out;
}

/** The union of the runs' settings, sorted, each with every run's value ('' where a run has none) and whether they differ. */
export function compareSpecs(specs: unknown[]): { key: string; values: string[]; differs: boolean }[] {
  const flat = specs.map((s) => flattenSpec(s));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return keys.map((key) => {
    const values = flat.map((f) => f[key] ?? '');
    return { key, values, differs: new Set(values).size > 1 };
  });
}
