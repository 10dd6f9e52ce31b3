// Both engines in one page, for `npm run -s bench:peer`: NextToken (TF.js, WASM backend) and llama.cpp
// compiled to WebAssembly (@wllama/wllama, pinned), on the same weights (tools/gguf.ts converts them).
// The driver (tools/bench-peer.ts) calls window.__peer's functions run by run, interleaved.
// bench.html?peer&model=<model folder URL>&gguf=<GGUF URL>&threads=<n>
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
// wllama 3.x has no package exports: its ESM build is imported by path.
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { generate } from '../engine/generate/generate.ts';
import { selectBackend } from '../engine/runtime/backend.ts';
import { fetchModelFiles } from '../engine/load/fetchModel.ts';
import { buildModel } from '../engine/load/load.ts';
import { WASM_PATHS } from '../engine/runtime/wasmPaths.ts';
import { readFloor } from '../engine/measure/readFloor.ts';

interface Chunk {
  choices?: { logprobs?: { content?: { id: number }[] } }[];
}

export interface RunResult {
  ids: number[];
  promptTokens: number;
  ttftMs: number;
  decodeTokPerSec: number;
}

const q = new URLSearchParams(location.search);
const threads = Number(q.get('threads') ?? 1);
const out = document.getElementById('out')!;
const w = window as unknown as { __peer?: unknown; __peerError?: string };

try {
  setThreadsCount(threads); // before the backend starts; the pool is min(this, hardwareConcurrency / 2)
  const status = await selectBackend({ order: ['wasm'], wasmPaths: WASM_PATHS });
  const lm = buildModel(await fetchModelFiles(q.get('model')!));
  const peer = new Wllama({ default: wllamaWasm }, { suppressNativeLog: true });
  const gguf = await (await fetch(q.get('gguf')!)).blob();
  // "Exact" settings: no flash attention, an F32 KV cache (as NextToken's), so greedy ids can be compared.
  await peer.loadModel([gguf], { n_threads: threads, n_ctx: Math.min(lm.model.contextLength, 1024), flash_attn: false, cache_type_k: 'f32', cache_type_v: 'f32' });

  /** NextToken as the app runs it: generate() at temperature 0, full step records included. */
  async function project(prompt: string, n: number): Promise<RunResult> {
    const promptIds = lm.tokenizer.encode(prompt);
    lm.model.truncate(0); // a fresh prefill every run, as the peer's cache_prompt: false
    const ids: number[] = [];
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    for await (const s of generate(lm, promptIds, { temperature: 0, topK: 0, topP: 1, seed: 0, maxTokens: n })) {
      last = performance.now();
      if (s.step === 0) first = last;
      ids.push(s.id);
    }
    return { ids, promptTokens: promptIds.length, ttftMs: first - t0, decodeTokPerSec: ids.length > 1 ? ((ids.length - 1) / (last - first)) * 1000 : 0 };
  }

  /** llama.cpp: streamed greedy completion from the same text (it takes text only), ids from its logprobs. */
  async function llamaCpp(prompt: string, n: number): Promise<RunResult> {
    const ids: number[] = [];
    let first = 0;
    let last = 0;
    let promptTokens = -1;
    const t0 = performance.now();
    // cache_prompt is passed through to llama-server's completion handler (its types leave it out).
    const params = {
      prompt,
      max_tokens: n,
      temperature: 0,
      top_k: 1,
      logprobs: 1,
      ignore_eos: true,
      cache_prompt: false,
      stream: true,
      onData: (raw: unknown) => {
        const chunk = raw as Chunk & { usage?: { prompt_tokens: number } };
        const now = performance.now();
        for (const c of chunk.choices?.[0]?.logprobs?.content ?? []) {
          if (!ids.length) first = now;
          ids.push(c.id);
          last = now;
        }
        if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
      },
    };
    await peer.createCompletion(params as unknown as Parameters<Wllama['createCompletion']>[0] & { stream: true; onData: (c: unknown) => void });
    return { ids, promptTokens, ttftMs: first - t0, decodeTokPerSec: ids.length > 1 ? ((ids.length - 1) / (last - first)) * 1000 : 0 };
  }

  w.__peer = { project, llamaCpp, readFloor: () => readFloor(lm.model.engineWeightBytes), info: { projectBackend: status.backend, wasm: status.wasm, llamaCpp: Wllama.getLibllamaVersion(), threads, crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency } };
  out.textContent = 'ready';
} catch (e) {
  w.__peerError = (e as Error).message;
  out.textContent = (e as Error).message;
}
document.title = 'ready';
