// Backend selection: WebGPU, else WASM, else WebGL, else CPU in the browser; WASM in Node.
// Every backend that was tried and not used is recorded with the reason, so the UI can say
// "WASM (WebGPU: no adapter — GPU blocklisted or WebGPU disabled)".
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { checkPinnedTfjs, webgpuDevice } from './tfjsInternals.ts';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason?: string;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean; // a software adapter: right for correctness, says nothing about GPU speed
}

export interface BackendStatus {
  backend: BackendName;
  attempts: BackendAttempt[];
  adapter?: AdapterDescription;
  wasm?: { simd: boolean; threads: boolean; /** threads XNNPACK runs on (1 without multithreading) */ threadCount: number };
}

export const BROWSER_ORDER: BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];
export const NODE_ORDER: BackendName[] = ['wasm', 'cpu'];

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

export interface BackendOptions {
  order?: BackendName[];
  /** Vite-resolved URLs of the three tfjs-backend-wasm binaries (browser builds). */
  wasmPaths?: Record<string, string>;
  /** A backend that hangs instead of failing (it happens with broken WASM workers) is abandoned after this. */
  timeoutMs?: number;
}

export async function selectBackend(opts: BackendOptions = {}): Promise<BackendStatus> {
  const order = opts.order ?? (isNode ? NODE_ORDER : BROWSER_ORDER);
  checkPinnedTfjs(); // the fused kernels use internals of this exact version
  if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
  const attempts: BackendAttempt[] = [];
  let adapter: AdapterDescription | undefined;
  for (const name of order) {
    try {
      if (name === 'webgpu') adapter = await probeWebGPU();
      const ok = await withTimeout(tf.setBackend(name), opts.timeoutMs ?? 60_000, `${name} did not start within ${(opts.timeoutMs ?? 60_000) / 1000} s`);
      await tf.ready();
      // setBackend can return true yet leave another backend active; check what really runs.
      if (!ok || tf.getBackend() !== name) throw new Error(`TensorFlow.js could not initialise ${name}`);
      attempts.push({ name, ok: true });
      const status: BackendStatus = { backend: name, attempts };
      if (name === 'webgpu') status.adapter = adapter;
      if (name === 'wasm') {
        status.wasm = {
          simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
          threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
          threadCount: 1,
        };
        // Known only once the backend runs (one per logical core, unless set before it starts).
        if (status.wasm.threads) status.wasm.threadCount = Math.max(1, getThreadsCount());
      }
      return status;
    } catch (e) {
      attempts.push({ name, ok: false, reason: (e as Error).message });
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`);
}

async function probeWebGPU(): Promise<AdapterDescription> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error(isNode ? 'not available in Node' : 'this browser has no WebGPU (navigator.gpu is missing)');
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!a) throw new Error('no WebGPU adapter (the GPU is blocklisted or WebGPU is disabled)');
  const info = (a as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  return { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', isFallbackAdapter: Boolean(info?.isFallbackAdapter) };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** One line for a status bar: "wasm (SIMD, multithreaded build, 4 threads) — webgpu: no adapter …". */
export function describeBackend(s: BackendStatus): string {
  let main: string = s.backend;
  if (s.adapter) main += ` (${s.adapter.vendor || 'unknown'} ${s.adapter.architecture}${s.adapter.isFallbackAdapter ? ', software adapter' : ''})`;
  if (s.wasm) main += ` (${[s.wasm.simd ? 'SIMD' : 'no SIMD', s.wasm.threads ? `multithreaded build, ${s.wasm.threadCount} thread${s.wasm.threadCount === 1 ? '' : 's'}` : 'one thread'].join(', ')})`;
  const skipped = s.attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
  return skipped.length ? `${main} — not used: ${skipped.join('; ')}` : main;
}

/**
 * Moves a new tensor's data to the device now. WebGPU otherwise keeps the JavaScript copy until the
 * tensor is first used, so a model would sit in memory twice until its first forward pass.
 */
export function uploadNow<T extends tf.Tensor>(t: T): T {
  if (tf.getBackend() === 'webgpu') (tf.backend() as unknown as { uploadToGPU(dataId: object): void }).uploadToGPU(t.dataId);
  return t;
}

/** The GPU device went away (driver reset, another tab took the GPU, or a test destroyed it). */
export class DeviceLostError extends Error {
  constructor(readonly reason: string) {
    super(`The GPU device was lost (${reason}).`);
    this.name = 'DeviceLostError';
  }
}

/** A read that waited READ_TIMEOUT_MS for the GPU: the device is taken for hung, and handled as lost. */
export class ReadTimeoutError extends DeviceLostError {
  constructor(ms: number) {
    super(`a read waited ${ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`} for it without an answer, so it is taken for hung`);
    this.name = 'ReadTimeoutError';
  }
}

/**
 * How long one read may wait for the GPU. The longest honest wait is a whole prefill at the context's length on
 * a software adapter (seconds); a read past this would otherwise hold the engine's queue forever.
 */
export const READ_TIMEOUT_MS = 120_000;

let deviceLost: { promise: Promise<never>; info: string | null } | null = null;

/**
 * Watches the WebGPU device TF.js uses: returns a promise that rejects with DeviceLostError when it is
 * lost (it never settles otherwise), so a read that would wait forever on a dead device can race it.
 */
export function watchDevice(): Promise<never> | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = webgpuDevice();
  if (!device) return null;
  if (!deviceLost) {
    const state: { promise: Promise<never>; info: string | null } = { promise: null!, info: null };
    state.promise = device.lost.then((info) => {
      state.info = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
      throw new DeviceLostError(state.info);
    });
    state.promise.catch(() => {}); // observed by whoever races it; never an unhandled rejection
    deviceLost = state;
  }
  return deviceLost.promise;
}

/** Why the device was lost, once it has been; null while it works (or off WebGPU). */
export function deviceLostReason(): string | null {
  return deviceLost?.info ?? null;
}

/** After moving off a lost device: the next WebGPU backend gets a fresh watch. */
export function forgetLostDevice(): void {
  deviceLost = null;
}

/**
 * A tensor's data, or DeviceLostError if the GPU device is lost while waiting for it (ReadTimeoutError, one kind
 * of it, if the GPU does not answer in READ_TIMEOUT_MS). Every read of the engine's
 * (generation and tools alike) goes through here, so a lost device ends the job with a message instead of a
 * read that never returns (tests/runtime-boundary.test.ts keeps it so).
 */
export function readData(t: tf.Tensor): Promise<Float32Array> {
  const data = t.data() as Promise<Float32Array>;
  const lost = watchDevice();
  return lost ? raceRead(data, lost, READ_TIMEOUT_MS) : data; // off the GPU a read is the CPU's own work: it ends
}

/** A read's data, or the device's loss, or ReadTimeoutError after `timeoutMs`: whichever comes first. */
export function raceRead<T>(data: Promise<T>, lost: Promise<never>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([data, lost, hung]).finally(() => clearTimeout(timer));
}

/** A 2-D tensor's rows, read as readData reads. */
export async function readRows(t: tf.Tensor2D): Promise<Float32Array[]> {
  const data = await readData(t);
  const [rows, cols] = t.shape;
  return Array.from({ length: rows }, (_, r) => data.subarray(r * cols, (r + 1) * cols));
}

/**
 * A tensor's floats, synchronously: only at load time, for a weight a streaming loader already uploaded and
 * that is to be quantized (WASM reads its heap; WebGPU waits for the GPU once per tensor, before any job runs).
 */
export function readUploadedWeight(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}
