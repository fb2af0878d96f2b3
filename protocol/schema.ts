// Tiny validator combinators: one place that turns unknown input into typed values or a path-precise error.
export type Schema<T> = (value: unknown, path: string) => T;
export type Infer<S> = S extends Schema<infer T> ? T : never;

export class SchemaError extends Error {}

const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

const fail = (path: string, want: string): never => {
  throw new SchemaError(`${path || 'value'}: expected ${want}`);
};

export const str =
  (max = 1024): Schema<string> =>
  (v, p) =>
    typeof v === 'string' && v.length <= max ? v : fail(p, `string of at most ${max} chars`);

export const num =
  (min = -Infinity, max = Infinity): Schema<number> =>
  (v, p) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(p, `number in [${min}, ${max}]`);

export const int =
  (min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  (v, p) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(p, `integer in [${min}, ${max}]`);

export const bool: Schema<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean'));

export const lit =
  <const T extends string | number>(...values: T[]): Schema<T> =>
  (v, p) =>
    values.includes(v as T) ? (v as T) : fail(p, `one of ${values.join('|')}`);

export const arr =
  <T>(item: Schema<T>, maxLen = 1024, minLen = 0): Schema<T[]> =>
  (v, p) => {
    if (!Array.isArray(v) || v.length > maxLen || v.length < minLen) return fail(p, `array of ${minLen}..${maxLen} items`);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };

export const opt =
  <T>(s: Schema<T>): Schema<T | undefined> =>
  (v, p) =>
    v === undefined ? undefined : s(v, p);

export const withDefault =
  <T>(s: Schema<T>, d: T): Schema<T> =>
  (v, p) =>
    v === undefined ? d : s(v, p);

type Shape = Record<string, Schema<unknown>>;
type ObjOf<S extends Shape> = { [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]> } & {
  [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]>;
};

/** An object with exactly these keys: unknown keys are refused so typos in specs do not pass silently. */
export const obj =
  <S extends Shape>(shape: S): Schema<ObjOf<S>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) if (!Object.hasOwn(shape, key)) fail(child(p, key), 'no such field');
    for (const [key, s] of Object.entries(shape)) {
      const val = s((v as Record<string, unknown>)[key], child(p, key));
      if (val !== undefined) out[key] = val;
    }
    return out as ObjOf<S>;
  };

/** A union discriminated by the field `key`; `fallback` is the tag when the field is absent. */
export const variant =
  <M extends Record<string, Schema<unknown>>>(key: string, by: M, fallback?: keyof M & string): Schema<Infer<M[keyof M]>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
    const tag = (v as Record<string, unknown>)[key] ?? fallback;
    if (typeof tag !== 'string' || !Object.hasOwn(by, tag)) return fail(child(p, key), `one of ${Object.keys(by).join('|')}`);
    return by[tag]({ ...v, [key]: tag }, p) as Infer<M[keyof M]>;
  };
