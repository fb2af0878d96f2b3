import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics';

describe('Metrics', () => {
  it('says which build it is, and keeps per-job series while a job runs', async () => {
    const m = new Metrics();
    m.roundClosed(3, 1, 2.5, 128);
    m.roundClosed(3, 2, 1.25, 128);
    const text = await m.render();
    expect(text).toMatch(/^grid_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*"\} 1$/m);
    expect(text).toMatch(/^grid_job_round\{job="3"\} 2$/m);
    expect(text).toMatch(/^grid_job_train_loss\{job="3"\} 1\.25$/m);
    expect(text).toMatch(/^grid_job_samples_total\{job="3"\} 256$/m);
    expect(text).toMatch(/^grid_rounds_total 2$/m);
    m.jobRefused(3, 'OUTLIER');
    m.jobRefused(3, 'OUTLIER', 2);
    m.jobBytes.inc({ job: '3', direction: 'up' }, 1000);
    m.jobsNow = () => [{ id: 3, shards: [{ state: 'done' }, { state: 'leased' }, { state: 'leased' }, { state: 'pending' }], eligible: 2 }];
    const scraped = await m.render();
    expect(scraped).toMatch(/^grid_job_refusals_total\{job="3",code="OUTLIER"\} 3$/m);
    expect(scraped).toMatch(/^grid_job_bytes_total\{job="3",direction="up"\} 1000$/m);
    expect(scraped).toMatch(/^grid_job_shards\{job="3",state="leased"\} 2$/m);
    expect(scraped).toMatch(/^grid_job_shards\{job="3",state="pending"\} 1$/m);
    expect(scraped).toMatch(/^grid_job_workers\{job="3"\} 2$/m);
    m.jobsNow = () => [];
    m.jobEnded(3);
    expect(await m.render()).not.toMatch(/job="3"/);
  });
});
