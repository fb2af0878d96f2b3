import { describe, expect, it } from 'vitest';
import { errorBody, GridError, refusalOf } from './errors';

const reply = (status: number, body: string, statusText = 'Bad Request') => ({ status, statusText, json: async () => JSON.parse(body) });

describe('refusal decoding', () => {
  it('reads back the code and message an error body carries', async () => {
    const r = await refusalOf(reply(400, errorBody(new GridError('BAD_JOB_SPEC', 'model has 3 inputs'))));
    expect(r.code).toBe('BAD_JOB_SPEC');
    expect(r.detail).toBe('model has 3 inputs');
    expect(r.message).toBe('BAD_JOB_SPEC: model has 3 inputs');
  });

  it('falls back to the HTTP status when the body is not an error body', async () => {
    expect((await refusalOf(reply(502, '<html>bad gateway</html>', 'Bad Gateway'))).message).toBe('502: Bad Gateway');
    expect((await refusalOf(reply(500, '{"error":{"code":7}}', 'Internal Server Error'))).code).toBe('500');
  });
});
