// Naming a model on the Hugging Face Hub: "owner/name[@revision]" (a Hugging Face folder) or
// "owner/name/file.gguf[@revision]" (one GGUF file of a repository), its display label and file URLs.
// Pure: the loader, the CLI and the page's model picker all read ids through these.

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubRef {
  id: string; // "owner/name"
  revision: string; // "main" unless "owner/name@rev"
  /** A GGUF file in the repository ("model-q4_0.gguf", "sub/dir/x.gguf"): the model is that one file. */
  file?: string;
}

/** A Hub id ("owner/name", "owner/name@revision", "owner/name/file.gguf[@revision]"), or null if `s` is not one. */
export function parseHubRef(s: string): HubRef | null {
  const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:\/((?:[\w.-]+\/)*[\w.-]+\.gguf))?(?:@([\w./-]+))?$/i.exec(s.trim());
  if (!m || m[0].includes('..')) return null;
  return { id: m[1], revision: m[3] ?? 'main', ...(m[2] ? { file: m[2] } : {}) };
}

/** "owner/name[/file.gguf]", with "@revision" only when it is not main. */
export function hubLabel(ref: HubRef): string {
  return `${ref.id}${ref.file ? '/' + ref.file : ''}${ref.revision === 'main' ? '' : '@' + ref.revision}`;
}

export function hubFileUrl(endpoint: string, ref: HubRef, file: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${ref.id}/resolve/${encodeURIComponent(ref.revision)}/${file}`;
}

/** The key of one file of a model in the store: endpoint, id, revision (the commit, once resolved: hubRevision.ts), file. */
export function cacheKey(endpoint: string, ref: HubRef, file: string): string {
  return `${endpointKey(endpoint)}/${ref.id}/${ref.revision}/${file}`;
}

/**
 * The first part of every cache key: which server the files came from ("huggingface.co",
 * "127.0.0.1_8123"), so a mirror or a test server never fills the entries the real Hub's model uses.
 */
export function endpointKey(endpoint: string): string {
  let host = endpoint;
  try {
    const u = new URL(endpoint);
    host = u.host + u.pathname.replace(/\/+$/, '');
  } catch {
    // not a URL: the text itself, made safe below
  }
  return host.replace(/[^A-Za-z0-9.-]+/g, '_') || '_';
}
