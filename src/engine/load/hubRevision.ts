// Which commit a Hub revision ("main", a tag) names, so the cache is keyed by commit: a branch that moves
// gets new files instead of the old ones forever, and a resumed download never mixes two commits' files.
//
//   GET {endpoint}/api/models/{owner}/{name}/revision/{revision}  →  { sha: "<40 hex>", ... }
//
// Asked at most once per page load (once per CLI run) for each repository and revision: the answer is kept
// in this module, which lives as long as the engine worker (or the process). Whatever the answer, a small
// pointer in the store, "{endpoint}/{id}/refs/{revision}", remembers the commit the model was last complete
// at: offline (or on a server without this API) that commit loads with no file request at all.
import { endpointKey, hubLabel, type HubRef } from './hubRef.ts';
import { HubError } from './download.ts';
import type { FileStore } from './hub.ts';

/** The pointer's contents: the commit the model was last complete at, and one being downloaded, if another. */
interface RevisionPointer {
  commit: string | null;
  /** A commit whose download began and has not finished: its files are removed once another is complete. */
  pending?: string;
  /** When the Hub named this commit and it was recorded (ms since 1970); for a person reading the cache. */
  checkedAt: number;
}

export interface ResolvedRevision {
  /** The revision the cache keys and file URLs use: a commit, or the revision's name on a server without the API. */
  at: string;
  /** The pointer as it was before this load (null if none). */
  pointer: RevisionPointer | null;
  /** The Hub named `at` during this page load, so the pointer is brought up to date when the load completes. */
  fromHub: boolean;
}

export const isCommit = (s: string) => /^[0-9a-f]{40}$/.test(s);

/** Answers of the revision API in this page load: "endpoint/id@revision" → commit, or null for a server without the API. */
const checked = new Map<string, string | null>();

/** Forgets this page load's answers, as a new page load would (tests; a long-running process that wants to look again). */
export function forgetRevisionChecks(): void {
  checked.clear();
}

/** The pointer's key: one per model (a folder model, or one GGUF file of the repository) and revision. */
export function pointerKey(endpoint: string, ref: HubRef): string {
  // Encoded to one path segment: "refs/pr/1" and "main~x.gguf" stay single files ('~' is in no revision or file name).
  return `${endpointKey(endpoint)}/${ref.id}/refs/${encodeURIComponent(ref.revision)}${ref.file ? '~' + encodeURIComponent(ref.file) : ''}`;
}

async function readPointer(store: FileStore, key: string): Promise<RevisionPointer | null> {
  try {
    const bytes = await store.get(key);
    const p = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as RevisionPointer) : null;
    return p && (p.commit === null || isCommit(p.commit)) ? p : null;
  } catch {
    return null; // a damaged pointer only costs the offline fallback; the next complete load writes it again
  }
}

const writePointer = (store: FileStore, key: string, p: RevisionPointer) =>
  // A store that refuses it costs the offline fallback, not the load (the refused files say so already).
  store.put(key, new TextEncoder().encode(JSON.stringify(p))).catch(() => {});

/** The commit `ref` names: asked of the Hub once per page load; offline, the one last complete in the store. */
export async function resolveRevision(
  endpoint: string,
  ref: HubRef,
  opts: { store: FileStore; fetch?: typeof fetch; signal?: AbortSignal; stallMs?: number },
): Promise<ResolvedRevision> {
  if (isCommit(ref.revision)) return { at: ref.revision, pointer: null, fromHub: false }; // a commit names itself
  const key = pointerKey(endpoint, ref);
  const pointer = await readPointer(opts.store, key);
  const asked = `${endpointKey(endpoint)}/${ref.id}@${ref.revision}`;
  if (!checked.has(asked)) {
    const answer = await askHub(endpoint, ref, opts);
    if (answer !== undefined) checked.set(asked, answer); // a network failure is asked again by the next load
  }
  const commit = checked.get(asked);
  if (commit) {
    // A download of a new commit is noted before it starts, so its files are found and removed if it never completes.
    if (commit !== pointer?.commit && commit !== pointer?.pending) await writePointer(opts.store, key, { commit: pointer?.commit ?? null, pending: commit, checkedAt: Date.now() });
    return { at: commit, pointer, fromHub: true };
  }
  // Offline, or a server without the API: the commit last complete here, else the revision's name (the keys of a
  // server without the API, and of caches written before revisions were resolved).
  return { at: pointer?.commit ?? ref.revision, pointer, fromHub: false };
}

/** The commit the Hub names; null when the server has no such API or no such revision; undefined when it cannot be reached. */
async function askHub(endpoint: string, ref: HubRef, opts: { fetch?: typeof fetch; signal?: AbortSignal; stallMs?: number }): Promise<string | null | undefined> {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const url = `${endpoint.replace(/\/+$/, '')}/api/models/${ref.id}/revision/${encodeURIComponent(ref.revision)}`;
  // A short limit: a connection that hangs (a captive portal) must not hold up a model that is cached.
  const limit = new AbortController();
  const timer = setTimeout(() => limit.abort(), Math.min(opts.stallMs ?? 10_000, 10_000));
  const onAbort = () => limit.abort();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const res = await doFetch(url, { signal: limit.signal, headers: { Accept: 'application/json' } });
    // 401/403/404 (gated, unknown id or revision, a mirror without the API): the file requests that follow say which.
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      return res.status >= 500 ? undefined : null;
    }
    const sha = ((await res.json()) as { sha?: unknown }).sha;
    return typeof sha === 'string' && isCommit(sha) ? sha : null;
  } catch {
    if (opts.signal?.aborted) throw new HubError('interrupted', `Loading ${hubLabel(ref)} was cancelled.`);
    return undefined; // offline (or an answer that is not JSON, which a server without the API may send)
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * After a load completed at `resolved.at`: the pointer names that commit, the files of any other commit this
 * model was cached at are removed (so the cache holds one copy of a model, not one per update), and a model
 * that was complete at another commit is reported as updated.
 */
export async function settleRevision(
  endpoint: string,
  ref: HubRef,
  resolved: ResolvedRevision,
  opts: { store: FileStore; onUpdated?: (message: string) => void },
  removeFiles: (at: string) => Promise<void>,
): Promise<void> {
  const { at, pointer } = resolved;
  // Nothing new: offline or without the API the pointer (if any) already names `at`, or the Hub named the same commit.
  if (!resolved.fromHub || (pointer?.commit === at && !pointer.pending)) return;
  const stale = new Set([pointer?.commit, pointer?.pending].filter((c): c is string => !!c && c !== at));
  // Files cached before revisions were resolved (or from this server when it lacked the API) sit under the revision's name.
  if (!pointer && at !== ref.revision) stale.add(ref.revision);
  await writePointer(opts.store, pointerKey(endpoint, ref), { commit: at, checkedAt: Date.now() });
  for (const old of stale) await removeFiles(old).catch(() => {}); // a file left behind only costs space
  if (pointer?.commit && pointer.commit !== at) {
    opts.onUpdated?.(`${hubLabel(ref)} was updated on the Hub (commit ${pointer.commit.slice(0, 7)} → ${at.slice(0, 7)}); the new files were downloaded.`);
  }
}
