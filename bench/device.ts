// `npm run bench -- device`: our kernels on whatever adapter Dawn finds (a lent GPU: the vendor's Vulkan driver), with
// onnxruntime-node's CPU path beside them. scripts/device-pack.sh bundles it for a machine without npm.
import * as ortNode from 'onnxruntime-node';
import { kernelsEngine } from '../kernels/engine';
import { GpuBackend } from '../kernels/gpu/backend';
import { openDawn } from '../kernels/gpu/dawn';
import { matmulGflops, tuneMatmul } from '../kernels/gpu/matmul-tune';
import { onnxEngine } from '../kernels/onnx/engine';
import { MATMUL_VARIANTS } from '../kernels/ops/matmul';
import { runGpuTier } from '../kernels/testing/gpu-tier';
import { measure } from '../worker/engine-choice';
import { halfMatmuls } from './device-f16';
import { BENCH_CNN, BENCH_MLP } from './workloads';

export async function benchDevice() {
  // Dawn keeps f16 off on NVIDIA's Vulkan driver unless asked; subgroup matrices are behind allow_unsafe_apis.
  const features = 'allow_unsafe_apis,vulkan_enable_f16_on_nvidia';
  const flags = process.env.DAWN_FLAGS?.split(' ').filter(Boolean) ?? [`enable-dawn-features=${features}`];
  const gpu = await openDawn('vulkan', (m) => console.error(m), flags);
  const r = (x: number) => x.toFixed(0);
  console.log(`adapter: ${new GpuBackend(gpu).adapter} software=${gpu.software} subgroup max ${gpu.subgroupMaxSize}`);
  console.log(`features: ${gpu.features.sort().join(' ')}`);
  console.log(`subgroup matrix configs: ${JSON.stringify(gpu.subgroupMatrixConfigs)}`);

  const tier = await runGpuTier(gpu);
  for (const [variant, cases] of Object.entries(tier.cases)) {
    const failed = cases.filter((c) => !c.ok);
    console.log(`tier ${variant}: ${cases.length - failed.length}/${cases.length} cases pass ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`);
  }
  console.log('tier model gradients vs CPU:', JSON.stringify(tier.models));

  const backend = new GpuBackend(gpu);
  const verdict = await tuneMatmul(backend);
  console.log(
    `start-up tile timing: ${verdict.variant} (fallback ${verdict.fallback}) ${JSON.stringify(Object.fromEntries(Object.entries(verdict.gflops).map(([k, v]) => [k, r(v)])))} GFLOP/s`,
  );

  const sizes = gpu.software ? [256, 512] : [1024, 2048, 4096];
  for (const n of sizes) {
    const row: string[] = [];
    for (const variant of MATMUL_VARIANTS) {
      const b = new GpuBackend(gpu, variant);
      row.push(`${variant} ${r(await matmulGflops(b, n, Math.max(2, Math.round(2 * (4096 / n) ** 2))))}`);
    }
    console.log(`matmul f32 ${n}^3 GFLOP/s: ${row.join(' | ')}`);
  }
  await halfMatmuls(gpu, sizes[sizes.length - 1], 'tiles');
  // What Dawn's bounds checks (robustness) cost our kernels: the same products on a device without them.
  const bare = await openDawn('vulkan', (m) => console.error(m), [`enable-dawn-features=${features},disable_robustness`]);
  const n = sizes[sizes.length - 1];
  const row: string[] = [];
  for (const variant of MATMUL_VARIANTS) row.push(`${variant} ${r(await matmulGflops(new GpuBackend(bare, variant), n, 4))}`);
  console.log(`matmul f32 ${n}^3 GFLOP/s without robustness: ${row.join(' | ')}`);
  bare.device.destroy();

  const engines = [kernelsEngine(backend), onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu')];
  for (const [name, spec, batches] of [
    ['MLP 784-256-128-10', BENCH_MLP, [256, 4096]],
    ['CNN conv8-pool-conv16-pool-dense', BENCH_CNN, [64, 1024]],
  ] as const) {
    for (const batch of batches) {
      const rates = [];
      for (const e of engines) rates.push(`${e.name === 'webgpu' ? 'ours' : e.name} ${r(await measure(e, spec, 3000, batch))}`);
      console.log(`${name} batch ${batch} training step samples/s (params up, gradients back): ${rates.join(' | ')}`);
    }
  }
  await halfMatmuls(gpu, sizes[sizes.length - 1], 'subgroup-matrix');
}
