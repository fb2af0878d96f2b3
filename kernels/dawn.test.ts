import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDawn } from './gpu/dawn';
import type { GpuHandle } from './gpu/device';
import { MATMUL_VARIANTS } from './ops/matmul';
import { runGpuTier, type TierReport } from './testing/gpu-tier';

// Dawn in Node: software Vulkan (lavapipe) in CI, the vendor's Vulkan driver on a real GPU; GL compatibility too.
for (const backend of ['vulkan', 'gl'] as const) {
  describe(`kernel tier: Dawn (${backend})`, () => {
    let gpu: GpuHandle;
    let report: TierReport;
    beforeAll(async () => {
      gpu = await openDawn(backend);
      report = await runGpuTier(gpu);
      console.log(`kernel tier: Dawn ${backend}, adapter "${report.adapter}"${report.software ? ' (software)' : ''}`);
    }, 300_000);
    afterAll(() => gpu?.device.destroy());

    it('found an adapter', () => expect(report.adapter.length).toBeGreaterThan(0));
    for (const variant of MATMUL_VARIANTS) {
      const scalar = variant === 'register' || variant === 'tiled';
      it(`every ${scalar ? 'kernel' : 'matmul'} case passes with the ${variant} matmul`, () => {
        const failed = report.cases[variant].filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
        expect(failed).toEqual([]);
        expect(report.cases[variant].length).toBeGreaterThan(scalar ? 20 : 9);
      });
    }
    it('model gradients match the CPU reference', () => {
      for (const [name, m] of Object.entries(report.models)) {
        expect(m.gradError, name).toBeLessThan(1e-3);
        expect(m.lossError, name).toBeLessThan(1e-4);
      }
    });
  });
}
