import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GpuHandle, openGpu } from './device';

export type DawnBackend = 'auto' | 'vulkan' | 'gl';

const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

// dawn.node lives only while the object returned by create() is referenced; dropping it tears down devices mid-flight.
const instances: GPU[] = [];

/**
 * Open a GPU through Dawn's Node bindings. Vulkan finds a real GPU's driver, else Mesa's lavapipe (software);
 * `gl` uses OpenGL ES through EGL in compatibility mode. Errors and device loss go to `onError`.
 */
export async function openDawn(
  backend: DawnBackend = 'auto',
  onError: (m: string) => void = (m) => console.error(m),
  /** Dawn instance flags, e.g. `enable-dawn-features=allow_unsafe_apis` for experimental features (benchmarks only). */
  flags: string[] = [],
): Promise<GpuHandle> {
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'xdg-'));
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  if (backend === 'gl') {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const gpu = create(['backend=opengl', ...flags]) as GPU;
    instances.push(gpu);
    return openGpu(gpu, onError, { featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  }
  try {
    const gpu = create(flags) as GPU;
    instances.push(gpu);
    return await openGpu(gpu, onError);
  } catch (e) {
    // No hardware Vulkan driver: point the loader at lavapipe (Mesa >= 24, from bookworm-backports) and retry.
    if (backend === 'vulkan' && !existsSync(LAVAPIPE_ICD)) throw e;
    if (!process.env.VK_ICD_FILENAMES && existsSync(LAVAPIPE_ICD)) {
      process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
      const gpu = create(flags) as GPU;
      instances.push(gpu);
      return openGpu(gpu, onError);
    }
    if (backend === 'auto') return openDawn('gl', onError, flags);
    throw e;
  }
}
