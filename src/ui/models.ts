// The models the picker offers, and reading the model choice from the URL.
import { DEFAULT_ENDPOINT, hubLabel, parseHubRef } from '../engine/load/hubRef.ts';
import type { HubProgress } from '../engine/load/hub.ts';
import type { ModelSource } from '../worker/protocol.ts';
import type { Dict } from './i18n/en.ts';

export const EMBEDDED_ID = 'embedded';
/** The embedded model's chat-tuned sibling (models/nexttoken-3m-chat): what Chat uses unless a learner picks. */
export const EMBEDDED_CHAT_ID = 'embedded-chat';

/** stories15M (llama2.c, TinyStories): a third-party storyteller, shipped as one Q4_0 GGUF file. */
export const STORIES_ID = 'stories';

/** The shipped models, relative to the page (a folder, or one GGUF file): all work offline. */
export const EMBEDDED_FOLDERS: Record<string, string> = {
  [EMBEDDED_ID]: 'models/nexttoken-3m/',
  [EMBEDDED_CHAT_ID]: 'models/nexttoken-3m-chat/',
  [STORIES_ID]: 'models/stories15m/stories15m-q4_0.gguf',
};

/** The shipped models' absolute URLs (resolved against the page, wherever it is deployed). */
export type EmbeddedUrls = Record<string, string>;

export function embeddedUrls(base: string): EmbeddedUrls {
  return Object.fromEntries(Object.entries(EMBEDDED_FOLDERS).map(([id, folder]) => [id, new URL(folder, base).href]));
}

/** Which shipped model a source is (its preset id), or null for any other model. */
export function embeddedIdOf(source: ModelSource | null, urls: EmbeddedUrls): string | null {
  if (source?.kind !== 'url') return null;
  return Object.keys(urls).find((id) => urls[id] === source.url) ?? null;
}

export interface Preset {
  id: string; // a Hub id, or EMBEDDED_ID
  label: string | ((d: Dict) => string);
  /** Download size of the weights, from the Hub's file listing (model.safetensors). */
  downloadMB: number;
  note: (d: Dict) => string;
}

export const PRESETS: Preset[] = [
  { id: EMBEDDED_ID, label: (d) => d.embeddedLabel, downloadMB: 6.9, note: (d) => d.presetNotes.embedded },
  { id: EMBEDDED_CHAT_ID, label: (d) => d.embeddedChatLabel, downloadMB: 3.5, note: (d) => d.presetNotes.embeddedChat },
  { id: STORIES_ID, label: 'stories15M (TinyStories) · Q4_0', downloadMB: 9.3, note: (d) => d.presetNotes.stories },
  { id: 'openai-community/gpt2', label: 'GPT-2 (124M)', downloadMB: 548, note: (d) => d.presetNotes.gpt2 },
  { id: 'distilbert/distilgpt2', label: 'DistilGPT2 (82M)', downloadMB: 353, note: (d) => d.presetNotes.distilgpt2 },
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2-135M-Instruct', downloadMB: 269, note: (d) => d.presetNotes.smol },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2-360M-Instruct', downloadMB: 724, note: (d) => d.presetNotes.smol },
  // BF16 safetensors; sizes as the Hub lists them (the download's own progress shows the bytes it reads).
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5-0.5B-Instruct · 中文', downloadMB: 988, note: (d) => d.presetNotes.qwen2 },
  { id: 'Qwen/Qwen3-0.6B', label: 'Qwen3-0.6B · 中文', downloadMB: 1503, note: (d) => d.presetNotes.qwen3 },
];

export function presetLabel(p: Preset, d: Dict): string {
  return `${typeof p.label === 'string' ? p.label : p.label(d)} · ${p.downloadMB < 10 ? p.downloadMB.toFixed(1) : Math.round(p.downloadMB)} MB`;
}

/**
 * `?model=owner/name[@rev]` picks a Hub model, `?hubEndpoint=` a Hub mirror, `?model=embedded-chat` the
 * fine-tuned embedded model; otherwise the embedded model for the mode: the base in Complete, the
 * fine-tuned one in Chat (`chat`).
 */
export function sourceFromUrl(search: string, urls: EmbeddedUrls, storedEndpoint: string | null, chat = false): ModelSource {
  const q = new URLSearchParams(search);
  const modelUrl = q.get('modelUrl');
  if (modelUrl) return { kind: 'url', url: modelUrl };
  const model = q.get('model');
  if (!model) return { kind: 'url', url: urls[chat ? EMBEDDED_CHAT_ID : EMBEDDED_ID] };
  if (model in urls) return { kind: 'url', url: urls[model] };
  const ref = parseHubRef(model);
  const [id, revision] = model.split('@');
  const endpoint = q.get('hubEndpoint') || storedEndpoint || DEFAULT_ENDPOINT;
  // An id the picker would refuse is still passed on whole: the load then says what is wrong with it.
  return ref ? { kind: 'hub', ...ref, endpoint } : { kind: 'hub', id, revision: revision || 'main', endpoint };
}

export function describeSource(s: ModelSource): string {
  return s.kind === 'url' ? s.url : hubLabel(s);
}

/** The query string after loading `source` (picked as `choice`), so the link reopens the same model. */
export function modelQuery(search: string, source: ModelSource, choice: string): string {
  const q = new URLSearchParams(search);
  q.delete('modelUrl');
  q.set('model', choice); // an explicit pick, the embedded base too: in Chat the default is the tuned model

  if (source.kind === 'hub') q.set('hubEndpoint', source.endpoint);
  return `?${q}`;
}

export function progressLine(p: HubProgress, d: Dict): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const file = `${p.file} ${mb(p.loaded)}${p.total ? ` / ${mb(p.total)}` : ''} MB`;
  const all = p.overallTotal ? ` · ${d.allWeights} ${mb(p.overallLoaded)} / ${mb(p.overallTotal)} MB` : '';
  return `${p.fromCache ? d.fromCache : d.downloading}: ${file}${all}`;
}

/** Which model runs are saved under: token ids belong to one tokenizer. */
export function sourceKey(s: ModelSource): string {
  return s.kind === 'url' ? `url:${s.url}` : `hub:${s.endpoint}/${s.id}${s.file ? '/' + s.file : ''}@${s.revision}`;
}

export function sameSource(a: ModelSource, b: ModelSource | null): boolean {
  if (!b || a.kind !== b.kind) return false;
  if (a.kind === 'url') return a.url === (b as typeof a).url;
  const h = b as typeof a;
  return a.id === h.id && a.revision === h.revision && a.endpoint === h.endpoint && a.file === h.file;
}

/** A shipped model's fine-tuning sibling: the tuned one for the base, the base for the tuned one. */
export function siblingOf(source: ModelSource | null, urls: EmbeddedUrls): { source: ModelSource; is: 'base' | 'tuned' } | null {
  const id = embeddedIdOf(source, urls);
  if (id === EMBEDDED_ID) return { source: { kind: 'url', url: urls[EMBEDDED_CHAT_ID] }, is: 'tuned' };
  if (id === EMBEDDED_CHAT_ID) return { source: { kind: 'url', url: urls[EMBEDDED_ID] }, is: 'base' };
  return null;
}
