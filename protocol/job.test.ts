import { describe, expect, it } from 'vitest';
import { parseTrainingSpec, shardsPerRound, stepsPerShard, totalRounds } from './job';
import { parseClientMessage } from './messages';
import { int, lit, obj, SchemaError, variant } from './schema';

const base = {
  name: 'j',
  model: { kind: 'mlp', layers: [784, 64, 10] },
  dataset: { name: 'fashion-mnist' },
  optimizer: { kind: 'sgd', lr: 0.1 },
  globalBatch: 256,
  shardSize: 64,
  epochs: 1,
};
const refusal = (input: unknown) => {
  try {
    parseTrainingSpec(input);
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
  return 'accepted';
};

describe('job spec', () => {
  it('fills defaults once, in the schema, for both modes', () => {
    const sync = parseTrainingSpec(base);
    expect(sync).toMatchObject({ mode: 'sync', encoding: 'fp32', dataset: { split: 'train' }, aggregation: { rule: 'mean', trim: 0.1 }, leaseMs: 30_000 });
    const local = parseTrainingSpec({ ...base, mode: 'local', local: { steps: 4, lr: 0.001 } });
    expect(local.mode === 'local' && local.local).toEqual({ steps: 4, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 });
    expect(stepsPerShard(local)).toBe(4);
    expect(stepsPerShard(sync)).toBe(1);
    expect(shardsPerRound({ ...sync, globalBatch: 100, shardSize: 30 })).toBe(4);
    expect(totalRounds(sync, 60_000)).toBe(235);
    expect(totalRounds(local, 60_000)).toBe(59);
  });

  it('refuses bad specs with BAD_JOB_SPEC naming the path', () => {
    expect(parseTrainingSpec({ ...base, mode: 'local' })).toMatchObject({ local: { steps: 16, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 } });
    expect(refusal({ ...base, mode: 'local', local: { steps: 0 } })).toBe('BAD_JOB_SPEC: local.steps: expected integer in [1, 1000]');
    expect(refusal({ ...base, local: { steps: 4, lr: 0.1 } })).toBe('BAD_JOB_SPEC: local: no such field');
    expect(refusal({ ...base, mode: 'async' })).toBe('BAD_JOB_SPEC: mode: expected one of sync|local|inference');
    expect(refusal({ ...base, optimizer: { kind: 'lion', lr: 1 } })).toBe('BAD_JOB_SPEC: optimizer.kind: expected one of sgd|adam|adamw');
    expect(refusal({ ...base, model: { kind: 'mlp', layers: [784, 10], extra: 1 } })).toBe('BAD_JOB_SPEC: model.extra: no such field');
    expect(refusal({ ...base, shardSize: 512 })).toMatch(/shardSize must not exceed globalBatch/);
    expect(refusal({ ...base, epochs: undefined })).toMatch(/rounds or epochs/);
    expect(refusal({ ...base, optimizer: { kind: 'sgd', lr: Number.NaN } })).toMatch(/optimizer.lr/);
    expect(refusal('not an object')).toMatch(/^BAD_JOB_SPEC/);
    // Local steps keep one batch size per step: sizing shards by rate is a synchronous job's option.
    expect(refusal({ ...base, mode: 'local', shardSizing: 'by-rate' })).toBe('BAD_JOB_SPEC: shardSizing: no such field');
    expect(refusal({ ...base, shardSizing: 'fastest' })).toBe('BAD_JOB_SPEC: shardSizing: expected one of fixed|by-rate');
  });
});

describe('schema combinators', () => {
  it('variant picks the branch by its key, with a fallback', () => {
    const shape = variant('kind', { a: obj({ kind: int(), x: int() }), b: obj({ kind: int(), y: int() }) }, 'a');
    expect(() => shape({ x: 1 }, 'v')).toThrow(SchemaError); // branch a, but kind becomes 'a' which int() refuses
    const s = variant('t', { one: obj({ t: lit('one'), n: int() }) }, 'one');
    expect(s({ n: 3 }, '')).toEqual({ t: 'one', n: 3 });
    expect(() => s({ t: 'two' }, 'msg')).toThrow('msg.t: expected one of one');
    expect(() => s(null, 'msg')).toThrow('msg: expected object');
  });
});

describe('client messages', () => {
  const code = (text: string) => {
    try {
      parseClientMessage(text);
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'OK';
  };
  it('gives each kind of bad text frame its code', () => {
    expect(code('{')).toBe('BAD_JSON');
    expect(code('{"type":"progress","assignmentId":1,"done":1,"total":2}')).toBe('UNKNOWN_TYPE'); // removed from the protocol
    expect(code('{"type":"ready","slots":"all"}')).toBe('BAD_MESSAGE');
    expect(code('{"type":"hello","protocol":99,"capabilities":{"kind":"native","backend":"cpu","cores":1,"memoryMB":1}}')).toBe('VERSION_MISMATCH');
    expect(code('{"type":"result","assignmentId":1,"samples":8,"loss":1e400}')).toBe('BAD_MESSAGE');
    expect(code('{"type":"ready","slots":2}')).toBe('OK');
    expect(code('x'.repeat(70_000))).toBe('FRAME_TOO_LARGE');
  });
});
