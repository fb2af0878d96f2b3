// Tiny validator combinators: one place that turns unknown input into typed values or a path-precise error, and
// describes itself as JSON Schema (`.json`), so the API document is generated from what the server enforces.
export type JsonSchema = Record<string, unknown>;
export type Schema<T> = ((value: unknown, path: string) => T) & { json: JsonSchema };
export type Infer<S> = S extends Schema<infer T> ? T : never;

export class SchemaError extends Error {}

const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

const fail = (path: string, want: string): never => {
  throw new SchemaError(`${path || 'value'}: expected ${want}`);
};

const described = <T>(check: (v: unknown, p: string) => T, json: JsonSchema): Schema<T> => Object.assign(check, { json });
const bounds = (min: number, max: number) => ({ ...(Number.isFinite(min) ? { minimum: min } : {}), ...(Number.isFinite(max) ? { maximum: max } : {}) });

export const str = (max = 1024): Schema<string> =>
  described((v, p) => (typeof v === 'string' && v.length <= max ? v : fail(p, `string of at most ${max} chars`)), { type: 'string', maxLength: max });

export const num = (min = -Infinity, max = Infinity): Schema<number> =>
  described((v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(p, `number in [${min}, ${max}]`)), {
    type: 'number',
    ...bounds(min, max),
  });

export const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  described((v, p) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(p, `integer in [${min}, ${max}]`)), {
    type: 'integer',
    ...bounds(min, max),
  });

export const bool: Schema<boolean> = described((v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean')), { type: 'boolean' });

export const lit = <const T extends string | number>(...values: T[]): Schema<T> =>
  described((v, p) => (values.includes(v as T) ? (v as T) : fail(p, `one of ${values.join('|')}`)), { enum: values });

export const arr = <T>(item: Schema<T>, maxLen = 1024, minLen = 0): Schema<T[]> =>
  described(
    (v, p) => {
      if (!Array.isArray(v) || v.length > maxLen || v.length < minLen) return fail(p, `array of ${minLen}..${maxLen} items`);
      return v.map((x, i) => item(x, `${p}[${i}]`));
    },
    { type: 'array', items: item.json, minItems: minLen, maxItems: maxLen },
  );

/** Optional: absent is fine (the field is left out of `required`). */
export const opt = <T>(s: Schema<T>): Schema<T | undefined> => described((v, p) => (v === undefined ? undefined : s(v, p)), { ...s.json, 'x-optional': true });

export const withDefault = <T>(s: Schema<T>, d: T): Schema<T> => described((v, p) => (v === undefined ? d : s(v, p)), { ...s.json, default: d });

type Shape = Record<string, Schema<unknown>>;
type ObjOf<S extends Shape> = { [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]> } & {
  [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]>;
};

/** Fields a client must send: those neither optional nor defaulted. */
const requiredKeys = (shape: Shape) => Object.keys(shape).filter((k) => !shape[k].json['x-optional'] && !('default' in shape[k].json));
const clean = (json: JsonSchema) => Object.fromEntries(Object.entries(json).filter(([k]) => k !== 'x-optional'));

/** A typo's likely field: the same name in another case, or one at most two edits away. */
function suggestion(key: string, keys: string[]): string {
  const near = keys.find((k) => k.toLowerCase() === key.toLowerCase()) ?? keys.find((k) => editDistance(k, key) <= 2);
  return near ? ` (did you mean ${near}?)` : '';
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** An object with exactly these keys: unknown keys are refused so typos in specs do not pass silently. */
export const obj = <S extends Shape>(shape: S): Schema<ObjOf<S>> =>
  described(
    (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v))
        if (!Object.hasOwn(shape, key)) throw new SchemaError(`${child(p, key)}: no such field${suggestion(key, Object.keys(shape))}`);
      for (const [key, s] of Object.entries(shape)) {
        const val = s((v as Record<string, unknown>)[key], child(p, key));
        if (val !== undefined) out[key] = val;
      }
      return out as ObjOf<S>;
    },
    {
      type: 'object',
      properties: Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, clean(s.json)])),
      required: requiredKeys(shape),
      additionalProperties: false,
    },
  );

/** A union discriminated by the field `key`; `fallback` is the tag when the field is absent. */
export const variant = <M extends Record<string, Schema<unknown>>>(key: string, by: M, fallback?: keyof M & string): Schema<Infer<M[keyof M]>> =>
  described(
    (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
      const tag = (v as Record<string, unknown>)[key] ?? fallback;
      if (typeof tag !== 'string' || !Object.hasOwn(by, tag)) return fail(child(p, key), `one of ${Object.keys(by).join('|')}`);
      return by[tag]({ ...v, [key]: tag }, p) as Infer<M[keyof M]>;
    },
    {
      // With a fallback the tag may be left out; the member schemas then still list it, so it is not required there.
      oneOf: Object.values(by).map((s) => (fallback ? { ...s.json, required: ((s.json.required as string[]) ?? []).filter((k) => k !== key) } : s.json)),
      discriminator: { propertyName: key },
    },
  );

/** A schema written by hand, for a value the combinators above do not describe. */
export const custom = <T>(check: (value: unknown, path: string) => T, json: JsonSchema): Schema<T> => described(check, json);

/** Throw the path-precise error a schema throws. */
export const schemaFail = fail;
