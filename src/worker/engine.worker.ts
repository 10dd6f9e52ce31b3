// The inference worker: loads the model and runs generation off the main thread, so the page
// stays responsive while tokens are computed.
import { describeBackend, selectBackend, uploadNow, type BackendName } from '../engine/load/backend.ts';
import { fetchModelFiles } from '../engine/load/fetchModel.ts';
import type { Fact } from '../engine/tools/evaluate.ts';
import { GENERAL_FACTS } from '../engine/tools/generalFacts.ts';
import { loadHubFiles } from '../engine/load/hub.ts';
import { inspect } from '../engine/tools/inspect.ts';
import { compareTemperatures, perplexity } from '../engine/tools/compare.ts';
import { CancelledError } from '../engine/generate/cancelled.ts';
import { askAll, askFact, knownAnswers, questionsFromFacts, repeatAsk, summarize, type LensQuestion } from '../engine/tools/lens.ts';
import { generate } from '../engine/generate/generate.ts';
import { buildModel, type LoadedModel } from '../engine/load/load.ts';
import { WASM_PATHS } from '../engine/load/wasmPaths.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import * as tf from '@tensorflow/tfjs';
import { cacheStorageStore, listCachedModels, removeCachedModels } from './cacheStore.ts';
import type { ModelSource, Request, Response, TokenView } from './protocol.ts';

let lm: LoadedModel | null = null;
let questions: LensQuestion[] = []; // the hallucination lens's questions for the loaded model
let abort: AbortController | null = null;
const cancellable = new Map<number, AbortController>(); // long tool jobs, by request id
let liveSettings: SamplingSettings | null = null;
let delayMs = 0; // slow motion: a pause after each token so learners can follow

const post = (msg: Response, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(msg, transfer);

function need(): LoadedModel {
  if (!lm) throw new Error('The model is not loaded yet.');
  return lm;
}

function views(ids: number[]): TokenView[] {
  const m = need();
  return ids.map((id) => ({ id, label: m.tokenizer.tokenLabel(id), special: m.tokenizer.isSpecial(id) }));
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case 'load': {
      const t0 = performance.now();
      const status = await selectBackend({ order: req.backends as BackendName[] | undefined, wasmPaths: WASM_PATHS });
      const streamed: tf.Tensor[] = [];
      let next: LoadedModel;
      try {
        const files = await fetchFiles(req.source, status.backend, streamed);
        // Build the new model before letting go of the old one: if this fails, the old one still works.
        next = buildModel(files);
        for (const t of files.weights.leftovers?.() ?? []) (t as tf.Tensor).dispose(); // e.g. GPT-2's attn.bias masks
      } catch (e) {
        for (const t of streamed) if (!t.isDisposed) t.dispose();
        throw e;
      }
      lm?.model.dispose();
      lm = next;
      // The embedded model ships its own facts (seen and held out); other models get general facts.
      const facts = req.source.kind === 'url' ? await fetchJsonOptional(req.source.url.replace(/\/?$/, '/') + 'facts.json') : null;
      questions = facts ? questionsFromFacts((facts as { facts: Fact[] }).facts) : GENERAL_FACTS;
      post({
        type: 'ready',
        loadMs: performance.now() - t0,
        backend: { backend: status.backend, description: describeBackend(status), softwareAdapter: Boolean(status.adapter?.isFallbackAdapter) },
        model: {
          name: lm.name,
          params: lm.model.params,
          weightBytes: lm.weightBytes,
          contextLength: lm.model.contextLength,
          vocabSize: lm.config.vocabSize,
          nLayer: lm.config.nLayer,
          nHead: lm.config.nHead,
          hasChatTemplate: lm.tokenizer.hasChatTemplate,
          eosIds: lm.eosIds,
        },
      });
      return;
    }
    case 'generate': {
      const m = need();
      if (abort) throw new Error('A generation is already running; press Stop first.');
      abort = new AbortController();
      liveSettings = req.settings;
      delayMs = req.delayMs;
      try {
        const gen = generate(m, req.promptIds, {
          ...req.settings,
          seed: req.seed,
          rngSkip: req.rngSkip,
          maxTokens: req.maxTokens,
          signal: abort.signal,
          keepLogits: true,
          settingsForStep: () => liveSettings ?? req.settings,
          turnEnd: req.chat ? m.tokenizer.turnEnd() : undefined,
        });
        for (;;) {
          const r = await gen.next();
          if (r.done) {
            post({ type: 'done', genId: req.genId, summary: r.value });
            break;
          }
          const logits = r.value.logits!;
          post({ type: 'step', genId: req.genId, record: r.value }, [logits.buffer]);
          // Let 'stop' and 'settings' messages in between tokens (and pause in slow motion).
          await new Promise((res) => setTimeout(res, delayMs));
        }
      } finally {
        abort = null;
      }
      return;
    }
    case 'lensQuestions':
      post({ type: 'result', reqId: req.reqId, value: questions.map((q) => ({ question: q.question, answer: q.answer, seen: q.seen })) });
      return;
    case 'lensAsk':
      post({ type: 'result', reqId: req.reqId, value: await askFact(need(), lensQuestion(req.index), knownAnswers(questions)) });
      return;
    case 'lensRepeat':
      post({ type: 'result', reqId: req.reqId, value: await repeatAsk(need(), lensQuestion(req.index), req.n, req.temperature) });
      return;
    case 'lensAll': {
      const ctl = new AbortController();
      cancellable.set(req.reqId, ctl);
      try {
        const answers = await askAll(need(), questions, (done, total) => post({ type: 'lensProgress', reqId: req.reqId, done, total }), ctl.signal);
        post({ type: 'result', reqId: req.reqId, value: { answers, summary: summarize(answers) } });
      } finally {
        cancellable.delete(req.reqId);
      }
      return;
    }
    case 'cancel':
      cancellable.get(req.reqId)?.abort();
      return;
    case 'inspect':
      post({ type: 'result', reqId: req.reqId, value: await inspect(need(), req.ids, req.layer) });
      return;
    case 'compareTemperatures':
      post({ type: 'result', reqId: req.reqId, value: await compareTemperatures(need(), req.promptIds, req.temperatures, req.seed, req.maxTokens) });
      return;
    case 'perplexity':
      post({ type: 'result', reqId: req.reqId, value: await perplexity(need(), req.text) });
      return;
    case 'cacheList':
      post({ type: 'result', reqId: req.reqId, value: await listCachedModels() });
      return;
    case 'cacheRemove':
      await removeCachedModels();
      post({ type: 'result', reqId: req.reqId, value: null });
      return;
    case 'settings':
      liveSettings = req.settings;
      delayMs = req.delayMs;
      return;
    case 'stop':
      abort?.abort();
      return;
    case 'tokenize':
      post({ type: 'result', reqId: req.reqId, value: views(need().tokenizer.encode(req.text)) });
      return;
    case 'chatPrompt':
      post({ type: 'result', reqId: req.reqId, value: need().tokenizer.applyChatTemplate(req.messages) });
      return;
    case 'labels':
      post({ type: 'result', reqId: req.reqId, value: views(req.ids) });
      return;
    case 'decode':
      post({ type: 'result', reqId: req.reqId, value: need().tokenizer.decode(req.ids, true) });
      return;
  }
}

function lensQuestion(index: number): LensQuestion {
  const q = questions[index];
  if (!q) throw new Error(`There is no question ${index + 1}; this model has ${questions.length}.`);
  return q;
}

async function fetchJsonOptional(url: string): Promise<unknown> {
  try {
    const res = await fetch(url);
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

function fetchFiles(source: ModelSource, backend: string, streamed: tf.Tensor[]) {
  if (source.kind === 'url') {
    return fetchModelFiles(source.url, (p) => post({ type: 'progress', ...p, overallLoaded: p.loaded, overallTotal: p.total, fromCache: false }));
  }
  // What this device can hold: WASM memory ends at 4 GiB; a WebGPU tensor must fit one buffer.
  const gib = 2 ** 30;
  const deviceMemory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  const maxWeightBytes = Math.min(backend === 'wasm' ? 3.5 * gib : Infinity, deviceMemory ? (deviceMemory * gib) / 2 : Infinity);
  const limits = backend === 'webgpu' ? (tf.backend() as unknown as { device?: GPUDevice }).device?.limits : undefined;
  return loadHubFiles(
    { id: source.id, revision: source.revision },
    {
      endpoint: source.endpoint,
      store: cacheStorageStore(),
      maxWeightBytes: Number.isFinite(maxWeightBytes) ? maxWeightBytes : undefined,
      maxTensorBytes: limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : undefined,
      onProgress: (p) => post({ type: 'progress', ...p }),
      onWarning: (message) => post({ type: 'warning', message }),
      // Each tensor goes to the backend the moment it has arrived; the file is never held whole.
      onTensor: (_name, shape, data) => {
        const t = uploadNow(tf.tensor(data, shape));
        streamed.push(t);
        return t;
      },
    },
  );
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  handle(req).catch((err: Error) => {
    post({
      type: 'error',
      message: err.message,
      genId: req.type === 'generate' ? req.genId : undefined,
      reqId: 'reqId' in req ? req.reqId : undefined,
      cancelled: err instanceof CancelledError ? { done: err.done, total: err.total } : undefined,
    });
  });
};
