// The inference worker: loads the model and runs generation off the main thread, so the page
// stays responsive while tokens are computed.
import { describeBackend, selectBackend, type BackendName } from '../engine/backend.ts';
import { fetchModelFiles } from '../engine/fetchModel.ts';
import { generate } from '../engine/generate.ts';
import { buildModel, type LoadedModel } from '../engine/load.ts';
import { WASM_PATHS } from '../engine/wasmPaths.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import type { Request, Response, TokenView } from './protocol.ts';

let lm: LoadedModel | null = null;
let abort: AbortController | null = null;
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
      const files = await fetchModelFiles(req.modelUrl, (p) => post({ type: 'progress', ...p }));
      lm?.model.dispose();
      lm = buildModel(files);
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

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  handle(req).catch((err: Error) => {
    post({
      type: 'error',
      message: err.message,
      genId: req.type === 'generate' ? req.genId : undefined,
      reqId: 'reqId' in req ? req.reqId : undefined,
    });
  });
};
