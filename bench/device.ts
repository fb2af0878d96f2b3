// `npm run bench -- device`: our kernels on whatever adapter Dawn finds (a lent GPU: the vendor's Vulkan driver), with
// onnxruntime-node's CPU path beside them. scripts/device-pack.sh bundles it for a machine without npm; on a rerun,
// BENCH_TIER=0 leaves out the correctness tier, BENCH_F16=0 the f16 products; BENCH_PROFILE=only times each program
// of the training steps on the GPU, then the steps.
import { GpuBackend } from '../kernels/gpu/backend';
import { openDawn } from '../kernels/gpu/dawn';
import type { GpuHandle } from '../kernels/gpu/device';
import { matmulGflops, tuneMatmul } from '../kernels/gpu/matmul-tune';
import { MATMUL_VARIANTS } from '../kernels/ops/matmul';
import { runGpuTier } from '../kernels/testing/gpu-tier';
import { halfMatmuls } from './device-f16';
import { profileSteps, trainingSteps } from './device-steps';

const r = (x: number) => x.toFixed(0);

/** GFLOP/s of every matmul variant at n³ on `gpu`, one line. */
async function matmulRow(gpu: GpuHandle, n: number) {
  const row: string[] = [];
  for (const variant of MATMUL_VARIANTS) row.push(`${variant} ${r(await matmulGflops(new GpuBackend(gpu, variant), n, gpu.software ? 2 : 4))}`);
  return row.join(' | ');
}

export async function benchDevice() {
  // As a native worker opens it, plus f16, which Dawn keeps off on NVIDIA's Vulkan driver unless asked, and
  // subgroup matrices, behind allow_unsafe_apis.
  const features = 'allow_unsafe_apis,vulkan_enable_f16_on_nvidia';
  const gpu = await openDawn('vulkan', (m) => console.error(m), [`enable-dawn-features=${features}`]);
  const backend = new GpuBackend(gpu);
  console.log(`adapter: ${backend.adapter} software=${gpu.software} subgroup max ${gpu.subgroupMaxSize}`);
  console.log(`features: ${gpu.features.sort().join(' ')}`);
  console.log(`subgroup matrix configs: ${JSON.stringify(gpu.subgroupMatrixConfigs)}`);

  if (process.env.BENCH_PROFILE === 'mlp') {
    await tuneMatmul(backend);
    for (let i = 0; i < 3; i++) await trainingSteps(backend, false, 'mlp');
    return;
  }
  if (process.env.BENCH_PROFILE !== '0') {
    // Timestamps unquantized: per-dispatch times are microseconds.
    const timed = await openDawn('vulkan', (m) => console.error(m), [`enable-dawn-features=${features}`, 'disable-dawn-features=timestamp_quantization']);
    const tuned = new GpuBackend(timed);
    await tuneMatmul(tuned);
    await profileSteps(tuned, new GpuBackend(timed, 'vec4-64x64x16'));
    if (process.env.BENCH_PROFILE === 'only') return trainingSteps(tuned, false);
  }
  if (process.env.BENCH_TIER !== '0') {
    const tier = await runGpuTier(gpu);
    for (const [variant, cases] of Object.entries(tier.cases)) {
      const failed = cases.filter((c) => !c.ok);
      console.log(`tier ${variant}: ${cases.length - failed.length}/${cases.length} pass ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`);
    }
    console.log('tier model gradients vs CPU:', JSON.stringify(tier.models));
  }

  // Clocks idle low (345 MHz on an H200) and take a while to rise: a second of products first, so no figure below
  // is read on a cold chip (short bursts read 5x low before this was added).
  const warm = performance.now();
  while (performance.now() - warm < 1000) await matmulGflops(backend, gpu.software ? 128 : 2048, 4);
  const verdict = await tuneMatmul(backend);
  const timed = Object.entries(verdict.gflops).map(([k, v]) => `${k} ${r(v)}`);
  console.log(`start-up tile timing: ${verdict.variant} (fallback ${verdict.fallback}): ${timed.join(' | ')} GFLOP/s`);

  const sizes = gpu.software ? [256, 512] : [1024, 2048, 4096];
  for (const n of sizes) console.log(`matmul f32 ${n}^3 GFLOP/s: ${await matmulRow(gpu, n)}`);
  const n = sizes[sizes.length - 1];
  // What Dawn's bounds checks (robustness, always on in browsers) cost our kernels: the same products without them.
  const bare = await openDawn('vulkan', (m) => console.error(m), [`enable-dawn-features=${features},disable_robustness`]);
  console.log(`matmul f32 ${n}^3 GFLOP/s without Dawn's robustness: ${await matmulRow(bare, n)}`);
  bare.device.destroy();
  if (process.env.BENCH_F16 !== '0') await halfMatmuls(gpu, n, 'tiles');

  // The floor under a training step on this adapter: one submit and map of 16 bytes with nothing else queued.
  const probe = backend.upload(new Float32Array(4), [4]);
  await backend.read(probe);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) await backend.read(probe);
  console.log(`readback round trip (16 bytes, idle queue): ${((performance.now() - t0) / 50).toFixed(3)} ms`);
  await trainingSteps(backend, true);
  // Last: an experimental shader that loses the device takes nothing else down with it.
  if (process.env.BENCH_F16 !== '0') await halfMatmuls(gpu, n, 'subgroup-matrix');
}
