import { setUpOffline } from './offline.ts';
import { App } from './ui/app.ts';
import { initialLang, setLang, storedLang } from './ui/i18n/index.ts';
import { storedEndpoint } from './ui/views/modelPicker.ts';
import { embeddedUrls, sourceFromUrl } from './ui/models.ts';
import './ui/styles.css';

// The embedded models ship in models/ beside the page, wherever the page is deployed (a sub-path too).
const EMBEDDED = embeddedUrls(document.baseURI);

async function main(): Promise<void> {
  // First the service worker: on a host that sends no COOP/COEP, the first visit reloads once to be isolated.
  const offline = await setUpOffline();
  if (offline.reloading) return;
  // The language first: the page is built in it.
  setLang(initialLang(location.search, storedLang(), navigator.languages), false);
  const root = document.getElementById('app')!;
  root.replaceChildren(); // the "Loading…" line (and the no-script note) that stood in for the app
  const app = new App(root, EMBEDDED, offline);
  const q = new URLSearchParams(location.search);
  const chat = q.get('mode') === 'chat';
  await app.start(sourceFromUrl(location.search, EMBEDDED, storedEndpoint(), chat), q.has('model') || q.has('modelUrl'));
}

void main();
