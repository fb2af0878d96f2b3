import { availableParallelism, totalmem } from 'node:os';
import type { Backend } from '../kernels/backend';
import { CpuBackend } from '../kernels/cpu/backend';
import { GpuBackend } from '../kernels/gpu/backend';
import { type DawnBackend, openDawn } from '../kernels/gpu/dawn';
import type { Capabilities } from '../protocol/messages';

export type BackendChoice = DawnBackend | 'cpu';

/** Open the requested backend and describe it for the coordinator's hello. */
export async function openBackend(choice: BackendChoice, onGpuError: (m: string) => void): Promise<{ backend: Backend; capabilities: Capabilities }> {
  const base = { kind: 'native' as const, cores: availableParallelism(), memoryMB: Math.round(totalmem() / 2 ** 20) };
  if (choice === 'cpu') return { backend: new CpuBackend(), capabilities: { ...base, backend: 'cpu', features: [] } };
  const gpu = await openDawn(choice, onGpuError);
  return {
    backend: new GpuBackend(gpu),
    capabilities: {
      ...base,
      backend: 'webgpu',
      adapter: gpu.adapter,
      limits: {
        maxBufferSize: gpu.limits.maxBufferSize,
        maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
        maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
      },
      features: gpu.features,
    },
  };
}
