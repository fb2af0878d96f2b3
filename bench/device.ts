// Node tier and throughput on a lent GPU machine (Dawn on the vendor's Vulkan driver); bundled with esbuild and run there.
import { GpuBackend } from '../kernels/gpu/backend';
import { openDawn } from '../kernels/gpu/dawn';
import { runGpuTier } from '../kernels/testing/gpu-tier';
import { BENCH_MLP, ourMatmulGflops, ourStepRate } from './workloads';

const gpu = await openDawn('vulkan');
const report = await runGpuTier(gpu);
console.log(`adapter: ${report.adapter} software=${report.software}`);
for (const [variant, cases] of Object.entries(report.cases)) {
  const failed = cases.filter((c) => !c.ok);
  console.log(`${variant}: ${cases.length - failed.length}/${cases.length} cases pass ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`);
}
console.log('model gradients vs CPU:', JSON.stringify(report.models));
for (const variant of ['tiled', 'register'] as const) {
  const b = new GpuBackend(gpu, variant);
  for (const n of [1024, 4096]) console.log(`matmul ${n}^3 ${variant}: ${(await ourMatmulGflops(b, n, 3)).toFixed(1)} GFLOP/s`);
}
const b = new GpuBackend(gpu);
for (const batch of [256, 4096])
  console.log(`MLP 784-256-128-10 batch ${batch}: ${(await ourStepRate(b, BENCH_MLP, batch, 4)).toFixed(0)} samples/s (step incl. upload + readback)`);
process.exit(0);
