import { arr, custom, type Infer, int, lit, num, obj, opt, schemaFail, str } from './schema';

// A model graph's structure, as a job spec carries it: every op, shape and small constant, but no parameter values
// (a job starts from its checkpoint or, for an imported model, from the model file). Workers rebuild the graph from
// it (kernels/graph/structure.ts), which checks every op and shape again: the spec is as untrusted as any input.

const name = str(200);
const dim = custom<number | 'batch'>(
  (v, p) =>
    v === 'batch' || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1 << 24) ? (v as number | 'batch') : schemaFail(p, "a size or 'batch'"),
  {
    oneOf: [{ type: 'integer', minimum: 1 }, { const: 'batch' }],
  },
);
const attr = custom<number | number[] | string>(
  (v, p) => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.length <= 100) return v;
    if (Array.isArray(v) && v.length <= 16 && v.every((x) => Number.isInteger(x))) return v as number[];
    return schemaFail(p, 'a number, a list of up to 16 integers or a short string');
  },
  { oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'array', items: { type: 'integer' } }] },
);
const attrs = custom<Record<string, number | number[] | string>>(
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length > 16) return schemaFail(p, 'an object of up to 16 attributes');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, attr(x, `${p}.${k}`)]));
  },
  { type: 'object' },
);

export const graphStructure = obj({
  input: obj({ name, shape: arr(dim, 6, 2) }),
  output: name,
  /** Values per sample the output has (its shape is [batch, outputWidth]), or per position of a sequence model's. */
  outputWidth: int(1, 1 << 16),
  /** A sequence model's positions: its output is [batch, positions, outputWidth] (a language model's next tokens). */
  positions: opt(int(1, 1 << 16)),
  params: arr(obj({ name, shape: arr(int(1, 1 << 24), 6) }), 1024, 1),
  constants: arr(obj({ name, shape: arr(int(1, 1 << 16), 6), data: arr(num(), 4096) }), 1024),
  nodes: arr(obj({ op: str(40), inputs: arr(name, 8), outputs: arr(name, 4, 1), attrs }), 4000, 1),
});

export type GraphStructure = Infer<typeof graphStructure>;

/**
 * A model given as an ONNX file registered with the grid (`POST /api/models`), fine-tuned from its weights. `loss`:
 * softmax cross-entropy over its outputs (one per class); binary cross-entropy on its one output (a logit, or a
 * Sigmoid's input) against 0/1 classes, or on each output against a multi-label data set's labels; or mean squared
 * error against a regression data set's values. `graph` is filled by the coordinator when the job is submitted.
 */
export const onnxModelSpec = obj({
  kind: lit('onnx'),
  sha256: custom<string>((v, p) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? v : schemaFail(p, 'a sha256 in hex')), {
    type: 'string',
    pattern: '^[0-9a-f]{64}$',
  }),
  input: opt(name),
  output: opt(name),
  loss: lit('cross-entropy', 'binary-cross-entropy', 'mse'),
  /** What the outputs train against; the coordinator sets it from the data set. */
  targets: opt(lit('class', 'multi-label', 'regression')),
  /** Parameters kept as the file has them: names, or globs with `*` (`"1.*"` for every tensor of layer 1). */
  frozen: opt(arr(str(200), 256)),
  /**
   * Low-rank adapters (protocol/lora.ts): every tensor of the file stays as it is; each MatMul or Gemm weight W a
   * `targets` pattern names gets A [in, rank] and B [rank, out] and computes x W + (alpha / rank) x A B instead. B
   * starts at zero, so training starts from the file's model exactly; only A and B train and cross the wire.
   */
  lora: opt(obj({ rank: int(1, 1024), alpha: opt(num(0, 1e6)), targets: arr(str(200), 256, 1) })),
  graph: opt(graphStructure),
});

export type OnnxModelSpec = Infer<typeof onnxModelSpec>;

/** Whether a pattern (a name, or a glob whose `*` stands for any run of characters) names the parameter `name`. */
export const namedBy = (pattern: string, name: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(name);
