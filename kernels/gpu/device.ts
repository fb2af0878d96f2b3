/** Limits worth raising above the spec defaults; a plain requestDevice() would cap them low. */
const WANTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Optional features our kernels use where the adapter has them (f16 matmul, GPU timestamps, tensor-core tiles). */
const WANTED_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups', 'chromium-experimental-subgroup-matrix'] as const;

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallback: boolean;
}

export interface GpuHandle {
  device: GPUDevice;
  adapter: AdapterSummary;
  limits: Record<(typeof WANTED_LIMITS)[number], number>;
  features: string[];
  /** True on software rasterizers (SwiftShader, lavapipe, llvmpipe), where barriers are slow. */
  software: boolean;
  /** Largest subgroup the adapter runs (32 on NVIDIA), and its matrix-unit shapes where Dawn exposes them. */
  subgroupMaxSize: number;
  subgroupMatrixConfigs: { componentType: string; resultComponentType: string; M: number; N: number; K: number }[];
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const i = adapter.info;
  return {
    vendor: i?.vendor ?? '',
    architecture: i?.architecture ?? '',
    device: i?.device ?? '',
    description: i?.description ?? '',
    isFallback: Boolean((i as { isFallbackAdapter?: boolean })?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}

export const describeAdapter = (a: AdapterSummary) =>
  [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') + (a.isFallback ? ' (fallback)' : '');

/**
 * Request a device with the adapter's own limits. Every environment (page, Worker, Dawn) reports device loss and
 * uncaptured errors through the one `onError` callback.
 */
export async function openGpu(gpu: GPU, onError: (message: string) => void, adapterOptions: GPURequestAdapterOptions = {}): Promise<GpuHandle> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', ...adapterOptions });
  if (!adapter) throw new Error('no WebGPU adapter');
  const limits = Object.fromEntries(WANTED_LIMITS.map((k) => [k, adapter.limits[k] as number])) as GpuHandle['limits'];
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ label: 'grid-device', requiredLimits: limits, requiredFeatures });
  device.lost.then((info) => onError(`device lost (${info.reason}): ${info.message}`));
  device.addEventListener('uncapturederror', (e) => onError(`uncaptured GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  const summary = summarizeAdapter(adapter);
  const text = describeAdapter(summary).toLowerCase();
  const software = summary.isFallback || /swiftshader|llvmpipe|lavapipe|mesa\/software|software|cpu/.test(text);
  const info = adapter.info as GPUAdapterInfo & { subgroupMaxSize?: number; subgroupMatrixConfigs?: GpuHandle['subgroupMatrixConfigs'] };
  const subgroupMatrixConfigs = [...(info.subgroupMatrixConfigs ?? [])].map(({ componentType, resultComponentType, M, N, K }) => ({
    componentType,
    resultComponentType,
    M,
    N,
    K,
  }));
  return { device, adapter: summary, limits, features: [...adapter.features], software, subgroupMaxSize: info.subgroupMaxSize ?? 0, subgroupMatrixConfigs };
}
