// The page's side of the service worker (src/sw.ts): register it, reload once to become cross-origin
// isolated where the server sends no COOP/COEP, offer a new deploy, and ask for the shipped models to be
// kept offline. Knows nothing of the app's state or of TF.js: it reports, the app shows.

/** Why the page is, or is not, cross-origin isolated (threads in tfjs-backend-wasm need it). */
export type IsolationReason =
  | 'headers' // the server sent COOP/COEP
  | 'serviceWorker' // our service worker added them
  | 'dev' // the dev server: no service worker
  | 'insecure' // http:// on a host other than localhost: no service worker is allowed
  | 'unsupported' // this browser has no service workers (or they are off, as in some private windows)
  | 'registerFailed' // the service worker could not be registered
  | 'refused'; // served with the headers after one reload, and still not isolated: the browser does not allow it

export interface OfflineSetup {
  isolated: boolean;
  reason: IsolationReason;
  detail: string; // e.g. the registration error
  registration: ServiceWorkerRegistration | null;
  /** True when the page is about to reload (once) to become isolated: start nothing. */
  reloading: boolean;
}

/** How far keeping the shipped models offline has got (bytes). */
export interface ModelCacheProgress {
  done: number;
  total: number;
  failed: string[];
  finished: boolean;
}

const RELOADED = 'nexttoken-isolation-reload';

export async function setUpOffline(): Promise<OfflineSetup> {
  const setup = (isolated: boolean, reason: IsolationReason, detail = '', registration: ServiceWorkerRegistration | null = null): OfflineSetup => ({ isolated, reason, detail, registration, reloading: false });
  // The dev server (hot reload on): no service worker, which would serve stale modules. Not env.DEV: a
  // build under Vitest (NODE_ENV=test) reports DEV too.
  if (import.meta.hot) return setup(crossOriginIsolated, crossOriginIsolated ? 'headers' : 'dev');
  if (!('serviceWorker' in navigator)) return setup(crossOriginIsolated, crossOriginIsolated ? 'headers' : isSecureContext ? 'unsupported' : 'insecure');
  let registration: ServiceWorkerRegistration;
  try {
    registration = await navigator.serviceWorker.register(new URL('sw.js', document.baseURI), { scope: './' });
  } catch (e) {
    return setup(crossOriginIsolated, crossOriginIsolated ? 'headers' : 'registerFailed', (e as Error).message);
  }
  if (crossOriginIsolated) {
    sessionStorage.removeItem(RELOADED);
    return setup(true, navigator.serviceWorker.controller ? 'serviceWorker' : 'headers', '', registration);
  }
  // Reloaded once already and still not isolated: never loop.
  if (sessionStorage.getItem(RELOADED)) return setup(false, 'refused', '', registration);
  const active = await activeWithin(registration, 20_000);
  if (!active) return setup(false, 'registerFailed', 'the service worker did not start within 20 s', registration);
  sessionStorage.setItem(RELOADED, '1');
  location.reload();
  return { ...setup(false, 'serviceWorker', '', registration), reloading: true };
}

function activeWithin(reg: ServiceWorkerRegistration, ms: number): Promise<boolean> {
  if (reg.active) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const worker = reg.installing ?? reg.waiting;
    worker?.addEventListener('statechange', () => {
      if (worker.state === 'activated') {
        clearTimeout(timer);
        resolve(true);
      } else if (worker.state === 'redundant') {
        clearTimeout(timer);
        resolve(false);
      }
    });
  });
}

/**
 * Calls `onUpdate` once a newer deploy has installed beside the running one; the function it is given
 * switches to the new version and reloads the page.
 */
export function watchForUpdate(reg: ServiceWorkerRegistration, onUpdate: (apply: () => void) => void): void {
  const apply = () => {
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
    reg.waiting?.postMessage({ type: 'skip-waiting' });
  };
  const offer = () => {
    if (reg.waiting && navigator.serviceWorker.controller) onUpdate(apply);
  };
  const follow = (w: ServiceWorker | null) => w?.addEventListener('statechange', () => w.state === 'installed' && offer());
  offer();
  follow(reg.installing); // an update that began before this page listened
  reg.addEventListener('updatefound', () => follow(reg.installing));
}

/**
 * Asks the service worker to keep every shipped model file offline (those already fetched are kept as
 * they were). Calls back with progress; returns false where no service worker controls the page yet.
 */
export function keepModelsOffline(onProgress: (p: ModelCacheProgress) => void): boolean {
  const worker = navigator.serviceWorker?.controller;
  if (!worker) return false;
  const channel = new MessageChannel();
  channel.port1.onmessage = (e: MessageEvent<ModelCacheProgress>) => onProgress(e.data);
  worker.postMessage({ type: 'cache-models' }, [channel.port2]);
  return true;
}

/** Resolves when a service worker first takes control of this page (on a first visit, once it has activated). */
export function whenControlled(): Promise<void> {
  if (!('serviceWorker' in navigator)) return new Promise(() => undefined);
  if (navigator.serviceWorker.controller) return Promise.resolve();
  return new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', () => r(), { once: true }));
}
