import type { DispatchProfiler } from './profiler';

/** A compute program: the cache key names the program variant, never a shape (shapes go in uniforms). */
export interface Program {
  key: string;
  code: string;
}

export interface Dispatch {
  program: Program;
  /** Bound in order after the uniform block: read-only inputs, then read-write outputs. */
  inputs: GPUBuffer[];
  outputs: GPUBuffer[];
  uniforms: ArrayBuffer;
  workgroups: [number, number?, number?];
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment
const ARENA_SLOTS = 256;
/** Each dispatch's uniform block, at most (a grouped convolution's geometry takes 18 words). */
const UNIFORM_BYTES = 128;
/** Bind groups kept for reuse; pooled buffers recur step after step, so a step's dispatches find theirs here. */
const BIND_GROUPS_KEPT = 8192;

/** Packs uniform values in WGSL struct order (4-byte fields). */
export class Uniforms {
  private readonly words = new DataView(new ArrayBuffer(UNIFORM_BYTES));
  private n = 0;
  u32(v: number) {
    this.words.setUint32(4 * this.n++, v >>> 0, true);
    return this;
  }
  f32(v: number) {
    this.words.setFloat32(4 * this.n++, v, true);
    return this;
  }
  get buffer() {
    return this.words.buffer;
  }
}

/**
 * Owns a GPUDevice's working set: a buffer pool keyed by size, a pipeline cache keyed by program, and a command
 * encoder that collects dispatches until `flush`. Uniforms for one encoder live in one arena written before submit.
 */
export class GpuRuntime {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly free = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  /** Dispatches share one compute pass until a copy or submit (WebGPU orders their storage accesses within it). */
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer | null = null;
  private arenaData = new Uint8Array(UNIFORM_SLOT * ARENA_SLOTS);
  private arenaUsed = 0;
  private readonly spareArenas: GPUBuffer[] = [];
  private bufferCount = 0;
  /** Readback buffers kept for the next read of the same size (a training step reads the same gradients each time). */
  private readonly staging = new Map<number, GPUBuffer[]>();

  /** Bind groups by program, uniform slot and buffers: creating one costs ~30 µs of host time in Dawn's Node bindings. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  /** Benchmarks attach one to time each program on the GPU. */
  profiler: DispatchProfiler | null = null;

  constructor(readonly device: GPUDevice) {}

  /** A storage buffer of at least `bytes`, reused from the pool when one of that size is free. */
  acquire(bytes: number, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) return reused;
    this.bufferCount++;
    return this.device.createBuffer({
      label: `${label}#${this.bufferCount}`,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Return a buffer to the pool; queue order makes reuse after this point safe. */
  releaseBuffer(b: GPUBuffer) {
    const list = this.free.get(b.size) ?? [];
    list.push(b);
    this.free.set(b.size, list);
  }

  pipeline(p: Program): GPUComputePipeline {
    let pipe = this.pipelines.get(p.key);
    if (!pipe) {
      const module = this.device.createShaderModule({ label: p.key, code: p.code });
      pipe = this.device.createComputePipeline({ label: p.key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(p.key, pipe);
    }
    return pipe;
  }

  run(d: Dispatch) {
    if (this.arenaUsed === ARENA_SLOTS || this.profiler?.full) this.flush();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'grid-step' });
    if (!this.arena)
      this.arena =
        this.spareArenas.pop() ??
        this.device.createBuffer({ label: 'uniform-arena', size: UNIFORM_SLOT * ARENA_SLOTS, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const offset = this.arenaUsed++ * UNIFORM_SLOT;
    this.arenaData.set(new Uint8Array(d.uniforms), offset);
    const pipe = this.pipeline(d.program);
    const bind = this.bindGroup(d, pipe, this.arena, offset);
    if (this.profiler) {
      this.endPass();
      this.pass = this.encoder.beginComputePass(this.profiler.passFor(d.program.key));
    } else this.pass ??= this.encoder.beginComputePass({ label: 'grid-pass' });
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bind);
    const [x, y = 1, z = 1] = d.workgroups;
    this.pass.dispatchWorkgroups(x, y, z);
  }

  private idOf(b: GPUBuffer) {
    const known = this.bufferIds.get(b);
    if (known !== undefined) return known;
    this.bufferIds.set(b, this.nextBufferId);
    return this.nextBufferId++;
  }

  private bindGroup(d: Dispatch, pipe: GPUComputePipeline, arena: GPUBuffer, offset: number) {
    const buffers = [...d.inputs, ...d.outputs];
    const key = `${d.program.key}|${this.idOf(arena)}:${offset}|${buffers.map((b) => this.idOf(b)).join(',')}`;
    let bind = this.bindGroups.get(key);
    if (!bind) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: arena, offset, size: UNIFORM_BYTES } }];
      buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
      bind = this.device.createBindGroup({ label: d.program.key, layout: pipe.getBindGroupLayout(0), entries });
      if (this.bindGroups.size === BIND_GROUPS_KEPT) this.bindGroups.clear();
      this.bindGroups.set(key, bind);
    }
    return bind;
  }

  private endPass() {
    this.pass?.end();
    this.pass = null;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number) {
    this.endPass();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'grid-step' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  write(dst: GPUBuffer, data: ArrayBufferView) {
    // A pending encoder may read `dst` with its old contents: submit it first so queue order is preserved.
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(dst, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  flush() {
    if (!this.encoder) return;
    this.endPass();
    if (this.arena) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaUsed * UNIFORM_SLOT);
      this.spareArenas.unshift(this.arena); // reused after later submits; queue order keeps its old contents valid
    }
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.arena = null;
    this.arenaUsed = 0;
  }

  /** Copy regions of buffers into one staging buffer and map it once. */
  async read(parts: { buffer: GPUBuffer; bytes: number }[]): Promise<Float32Array> {
    const total = parts.reduce((n, p) => n + p.bytes, 0);
    const size = Math.max(16, Math.ceil(total / 16) * 16);
    const staging =
      this.staging.get(size)?.pop() ?? this.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    let off = 0;
    for (const p of parts) {
      this.copy(p.buffer, 0, staging, off, p.bytes);
      off += p.bytes;
    }
    this.flush();
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange(0, total).slice(0));
    staging.unmap();
    const kept = this.staging.get(size) ?? [];
    if (kept.length < 2) kept.push(staging);
    else staging.destroy();
    this.staging.set(size, kept);
    return out;
  }

  destroy() {
    for (const list of [...this.free.values(), ...this.staging.values()]) for (const b of list) b.destroy();
    this.free.clear();
    this.staging.clear();
    this.device.destroy();
  }
}

/** Workgroups for a 1-D launch of `n` threads, folded into 2-D past the per-dimension limit. */
export function linearWorkgroups(n: number, size = 64): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** WGSL bindings as `run` binds them: the uniform block `u`, read-only f32 inputs by name, then the outputs (`Y`). */
export const programBindings = (uniforms: string, inputs: readonly string[], outputs: readonly string[] = ['Y']) => /* wgsl */ `struct U { ${uniforms} }
@group(0) @binding(0) var<uniform> u: U;
${inputs.map((name, k) => `@group(0) @binding(${k + 1}) var<storage, read> ${name}: array<f32>;`).join('\n')}
${outputs.map((name, k) => `@group(0) @binding(${inputs.length + k + 1}) var<storage, read_write> ${name}: array<f32>;`).join('\n')}`;

/** WGSL prelude for linear kernels: `idx` from a possibly 2-D dispatch. */
export const LINEAR_INDEX = /* wgsl */ `
fn linearIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }`;
