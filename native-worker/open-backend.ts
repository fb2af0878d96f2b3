import { availableParallelism, totalmem } from 'node:os';
import type { Backend } from '../kernels/backend';
import { type DawnBackend, openDawn } from '../kernels/gpu/dawn';
import type { Capabilities } from '../protocol/messages';
import { backendFor } from '../worker/capabilities';
import type { ByteCache } from '../worker/host';

export type BackendChoice = DawnBackend | 'cpu';

/**
 * Open the requested backend (Dawn on Vulkan or GL, or the CPU reference) and describe it for the coordinator's hello;
 * the GPU's matmul timing is kept in `cache`, so a restart does not time it again.
 */
export async function openBackend(
  choice: BackendChoice,
  onGpuError: (m: string) => void,
  cache?: ByteCache,
): Promise<{ backend: Backend; capabilities: Capabilities }> {
  const host = { kind: 'native' as const, cores: availableParallelism(), memoryMB: Math.round(totalmem() / 2 ** 20) };
  return backendFor(host, choice === 'cpu' ? undefined : await openDawn(choice, onGpuError), cache);
}
