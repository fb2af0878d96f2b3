import { describe, expect, it } from 'vitest';
import { metricsCsv } from './metrics-csv';

describe("a job's metrics as CSV", () => {
  it('gives a row per round and a column per metric, empty where a metric has no point, the last value of a repeat', () => {
    const at = Date.UTC(2026, 11, 4, 12);
    const csv = metricsCsv([
      { round: 1, name: 'train_loss', value: 2.5, at },
      { round: 0, name: 'train_loss', value: 3, at: at - 1000 },
      { round: 1, name: 'test_accuracy', value: 0.5, at: at + 5 },
      { round: 1, name: 'train_loss', value: 2.25, at: at + 9 },
    ]);
    expect(csv.split('\n')).toEqual(['round,time,test_accuracy,train_loss', '0,2026-12-04T11:59:59.000Z,,3', '1,2026-12-04T12:00:00.000Z,0.5,2.25', '']);
  });

  it('quotes a name with a comma or a quote, and an empty job is its header alone', () => {
    expect(metricsCsv([{ round: 0, name: 'a,"b"', value: 1, at: 0 }]).split('\n')[0]).toBe('round,time,"a,""b"""');
    expect(metricsCsv([])).toBe('round,time\n');
  });
});
