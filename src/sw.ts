/// <reference lib="webworker" />
// The service worker: the app offline after one visit, and cross-origin isolation (threads) on any static host.
//
// - The app shell (HTML, scripts, styles, WASM) is precached by Workbox at install, each file by its revision,
//   so a new deploy fetches only what changed and the old cache is dropped at activation.
// - The shipped models (models/…) are not precached: a first visit would download them twice and wait for
//   26 MB before the app could start. They are cached when first fetched, and the page asks for the rest
//   ('cache-models') once the app is ready; a file is stored under its revision, so a changed model is fetched anew.
// - Every response this worker serves carries COOP/COEP (the coi-serviceworker pattern): the page and its
//   workers become cross-origin isolated without server headers, and tfjs-backend-wasm can use threads.
//   Requests it does not know (the Hub, test fixtures) go to the network untouched.
import { cleanupOutdatedCaches, matchPrecache, precache } from 'workbox-precaching';

interface Entry {
  url: string;
  revision?: string | null;
  bytes?: number; // added at build (vite.config.ts), so the page can say how much is kept offline
}
declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (Entry | string)[] };

const MODEL_CACHE = 'nexttoken-models';
const entries: Entry[] = self.__WB_MANIFEST.map((e) => (typeof e === 'string' ? { url: e, revision: null } : e));
const isModelFile = (url: string) => url.startsWith('models/');
const scope = new URL(self.registration.scope);
const abs = (url: string) => new URL(url, scope).href;

const shellEntries = entries.filter((e) => !isModelFile(e.url));
const modelEntries = entries.filter((e) => isModelFile(e.url));
precache(shellEntries.map(({ url, revision }) => ({ url, revision })));
cleanupOutdatedCaches();
const shell = new Set(shellEntries.map((e) => abs(e.url)));
/** Model file URL → the key it is cached under (its revision in the query, so a new revision misses). */
const modelKeys = new Map(modelEntries.map((e) => [abs(e.url), `${abs(e.url)}?__rev=${e.revision ?? ''}`]));
const modelBytes = modelEntries.reduce((n, e) => n + (e.bytes ?? 0), 0);

// The first install takes over at once (the page then reloads once to be isolated). A later deploy waits
// until the page says so ('skip-waiting', after the learner chose "Reload"), or until every tab is closed:
// swapping the files under a running page would break its next lazy load.
self.addEventListener('install', () => {
  if (!self.registration.active) void self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // A model file of an older deploy is never served again: drop it.
      const cache = await caches.open(MODEL_CACHE);
      const wanted = new Set(modelKeys.values());
      for (const req of await cache.keys()) if (!wanted.has(req.url)) await cache.delete(req);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const data = event.data as { type?: string } | null;
  const port = event.ports[0];
  if (data?.type === 'skip-waiting') void self.skipWaiting();
  if (data?.type === 'cache-models' && port) event.waitUntil(cacheModels(port));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  if (req.cache === 'only-if-cached' && req.mode !== 'same-origin') return; // a DevTools quirk: such a fetch throws
  const url = new URL(req.url);
  url.hash = '';
  const key = url.origin + url.pathname;
  // The app's own page (any query string); other pages in scope, such as a model card, are files like any other.
  const navigation = req.mode === 'navigate' && (key === scope.href || key === `${scope.href}index.html`);
  if (!navigation && !shell.has(key) && !modelKeys.has(key)) return;
  event.respondWith(respond(req, key, navigation, event).then(isolated));
});

async function respond(req: Request, key: string, navigation: boolean, event: FetchEvent): Promise<Response> {
  if (navigation) {
    // The page itself: the precached shell, so it loads with the server gone; the network only if it is missing.
    return (await matchPrecache('index.html')) ?? fetch(req);
  }
  if (shell.has(key)) return (await matchPrecache(key)) ?? fetch(req);
  const cacheKey = modelKeys.get(key)!;
  const cache = await caches.open(MODEL_CACHE);
  const hit = await cache.match(cacheKey);
  if (hit) return hit;
  // Past the HTTP cache: a file stored under this revision must be this deploy's file, not a copy cached
  // from the last one. The page gets the bytes as they arrive (its progress bar moves); the copy is stored
  // beside it, and a full disk only means it is fetched again next time.
  const res = await fetch(req, { cache: 'no-cache' });
  if (res.ok && res.status === 200) event.waitUntil(cache.put(cacheKey, res.clone()).catch(() => undefined));
  return res;
}

/** A copy of `res` with the headers that make the page and its workers cross-origin isolated. */
function isolated(res: Response): Response {
  if (res.status === 0) return res; // opaque: its headers cannot be read or set
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** Stores every shipped model file not yet cached, reporting bytes to the page (ModelCacheProgress in offline.ts). */
async function cacheModels(port: MessagePort): Promise<void> {
  const cache = await caches.open(MODEL_CACHE);
  const sizes = new Map(entries.map((e) => [abs(e.url), e.bytes ?? 0]));
  const failed: string[] = [];
  let done = 0;
  const report = (finished: boolean) => port.postMessage({ done, total: modelBytes, failed, finished });
  for (const [url, key] of modelKeys) {
    if (!(await cache.match(key))) {
      try {
        const res = await fetch(url, { cache: 'no-cache' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        await cache.put(key, res);
      } catch (e) {
        failed.push(`${url}: ${(e as Error).message}`);
        continue;
      }
    }
    done += sizes.get(url) ?? 0;
    report(false);
  }
  report(true);
}
