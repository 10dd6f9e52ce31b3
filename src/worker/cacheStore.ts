// The browser's Hub cache: Cache Storage, one entry per downloaded file. An entry is written only
// after its file has fully arrived (Cache.put is atomic), so an interrupted download leaves nothing.
// Works in the worker (no DOM): `caches` is a worker global too.
import { MANIFEST, type FileStore } from '../engine/load/hub.ts';
import type { CachedModel } from './protocol.ts';

// v2: keys begin with the endpoint. v1 entries (keyed without it) cannot be told apart and are dropped.
const CACHE = 'nexttoken-hub-v2';
const OLD_CACHES = ['nexttoken-hub-v1'];
// Cache Storage is keyed by URL; these URLs are never fetched.
const PREFIX = 'https://cache.nexttoken.invalid/';

export function cacheStorageStore(): FileStore {
  const open = async () => {
    for (const old of OLD_CACHES) await caches.delete(old);
    return caches.open(CACHE);
  };
  return {
    delete: async (key) => void (await (await open()).delete(PREFIX + key)),
    has: async (key) => (await (await open()).match(PREFIX + key)) !== undefined,
    get: async (key) => {
      const res = await (await open()).match(PREFIX + key);
      return res ? new Uint8Array(await res.arrayBuffer()) : null;
    },
    put: async (key, bytes) => {
      const headers = { 'Content-Length': String(bytes.length), 'Content-Type': 'application/octet-stream' };
      await (await open()).put(PREFIX + key, new Response(bytes as BodyInit, { headers }));
    },
    stream: async (key) => {
      const res = await (await open()).match(PREFIX + key);
      const size = Number(res?.headers.get('Content-Length'));
      return res?.body && size > 0 ? { body: res.body, size } : null;
    },
    // Cache.put reads the stream to its end before storing anything; if the stream errors, nothing is stored.
    putStream: async (key, body, size) => {
      const headers = { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' };
      await (await open()).put(PREFIX + key, new Response(body, { headers }));
    },
  };
}

/**
 * Every model in the cache with its size; `complete` once its manifest is there. Files sit under the commit they
 * are of ("endpoint/owner/name/<commit>/file"), one folder per model; the revision shown is the one whose pointer
 * ("endpoint/owner/name/refs/<revision>", hubRevision.ts) names that commit, else the commit's first 7 digits
 * (or the revision's name, for a server without the revision API and caches written before it was asked).
 */
export async function listCachedModels(): Promise<CachedModel[]> {
  if (!(await caches.has(CACHE))) return [];
  const cache = await caches.open(CACHE);
  const models = new Map<string, CachedModel>();
  const named = new Map<string, string>(); // "endpoint/owner/name/<commit>" → the revision that names it
  for (const req of await cache.keys()) {
    const [endpoint, owner, name, folder, ...file] = req.url.slice(PREFIX.length).split('/');
    const res = await cache.match(req);
    if (folder === 'refs') {
      const revision = decodeURIComponent(file.join('/').split('~')[0]);
      const pointer = (await res?.json().catch(() => null)) as { commit?: string | null; pending?: string } | null;
      for (const c of [pointer?.commit, pointer?.pending]) if (c && !named.has(`${endpoint}/${owner}/${name}/${c}`)) named.set(`${endpoint}/${owner}/${name}/${c}`, revision);
      continue;
    }
    const key = `${endpoint}/${owner}/${name}/${folder}`;
    const m = models.get(key) ?? { id: `${owner}/${name}`, revision: folder, endpoint, bytes: 0, complete: false };
    m.bytes += Number(res?.headers.get('Content-Length') ?? 0);
    // A safetensors model is complete once its manifest is there; a GGUF file enters the cache only whole.
    if (file.join('/') === MANIFEST || /\.gguf$/i.test(file.join('/'))) m.complete = true;
    models.set(key, m);
  }
  for (const [key, m] of models) m.revision = named.get(key) ?? (/^[0-9a-f]{40}$/.test(m.revision) ? m.revision.slice(0, 7) : m.revision);
  return [...models.values()];
}

export async function removeCachedModels(): Promise<void> {
  for (const c of [CACHE, ...OLD_CACHES]) await caches.delete(c);
}
