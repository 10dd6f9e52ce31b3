// The models the picker offers, and reading the model choice from the URL.
import type { LoadProgressMsg, ModelSource } from '../worker/protocol.ts';

export const EMBEDDED_ID = 'embedded';
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface Preset {
  id: string; // a Hub id, or EMBEDDED_ID
  label: string;
  /** Download size of the weights, from the Hub's file listing (model.safetensors). */
  downloadMB: number;
  note: string;
}

export const PRESETS: Preset[] = [
  { id: EMBEDDED_ID, label: 'nexttoken-3m (embedded)', downloadMB: 6.1, note: 'trained by this project; works offline' },
  { id: 'openai-community/gpt2', label: 'GPT-2 (124M)', downloadMB: 548, note: 'OpenAI, 2019; completion only' },
  { id: 'distilbert/distilgpt2', label: 'DistilGPT2 (82M)', downloadMB: 353, note: 'a smaller GPT-2; completion only' },
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2-135M-Instruct', downloadMB: 269, note: 'Llama family; chat' },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2-360M-Instruct', downloadMB: 724, note: 'Llama family; chat' },
];

export function presetLabel(p: Preset): string {
  return `${p.label} · ${p.downloadMB < 10 ? p.downloadMB.toFixed(1) : Math.round(p.downloadMB)} MB`;
}

/** `?model=owner/name[@rev]` picks a Hub model, `?hubEndpoint=` a Hub mirror; otherwise the embedded model. */
export function sourceFromUrl(search: string, embeddedUrl: string, storedEndpoint: string | null): ModelSource {
  const q = new URLSearchParams(search);
  const modelUrl = q.get('modelUrl');
  if (modelUrl) return { kind: 'url', url: modelUrl };
  const model = q.get('model');
  if (!model || model === EMBEDDED_ID) return { kind: 'url', url: embeddedUrl };
  const [id, revision] = model.split('@');
  return { kind: 'hub', id, revision: revision || 'main', endpoint: q.get('hubEndpoint') || storedEndpoint || DEFAULT_HUB_ENDPOINT };
}

export function describeSource(s: ModelSource): string {
  return s.kind === 'url' ? s.url : `${s.id}${s.revision === 'main' ? '' : '@' + s.revision}`;
}

/** The query string after loading `source` (picked as `choice`), so the link reopens the same model. */
export function modelQuery(search: string, source: ModelSource, choice: string): string {
  const q = new URLSearchParams(search);
  q.delete('modelUrl');
  if (choice === EMBEDDED_ID) q.delete('model');
  else q.set('model', choice);
  if (source.kind === 'hub') q.set('hubEndpoint', source.endpoint);
  return `?${q}`;
}

export function progressLine(p: LoadProgressMsg): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const file = `${p.file} ${mb(p.loaded)}${p.total ? ` of ${mb(p.total)}` : ''} MB`;
  const all = p.overallTotal ? ` · all weights ${mb(p.overallLoaded)} of ${mb(p.overallTotal)} MB` : '';
  return `${p.fromCache ? 'From the cache' : 'Downloading'}: ${file}${all}`;
}
