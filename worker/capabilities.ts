import type { Backend } from '../kernels/backend';
import { CpuBackend } from '../kernels/cpu/backend';
import { GpuBackend } from '../kernels/gpu/backend';
import type { GpuHandle } from '../kernels/gpu/device';
import { tuneMatmul, type VerdictCache } from '../kernels/gpu/matmul-tune';
import type { Capabilities } from '../protocol/messages';

/** What the host knows about itself; the browser and the native worker each fill this in their own way. */
export interface HostInfo {
  kind: Capabilities['kind'];
  cores: number;
  memoryMB: number;
}

/**
 * The backend to compute with and how to describe it in hello: our kernels on `gpu`, with the matmul tile timed on
 * this adapter, or the CPU reference without one.
 */
export async function backendFor(host: HostInfo, gpu: GpuHandle | undefined, cache?: VerdictCache): Promise<{ backend: Backend; capabilities: Capabilities }> {
  if (!gpu) return { backend: new CpuBackend(), capabilities: { ...host, backend: 'cpu', features: [] } };
  const { maxBufferSize, maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup } = gpu.limits;
  const backend = new GpuBackend(gpu);
  await tuneMatmul(backend, cache);
  return {
    backend,
    capabilities: {
      ...host,
      backend: 'webgpu',
      adapter: gpu.adapter,
      limits: { maxBufferSize, maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup },
      features: gpu.features,
    },
  };
}
