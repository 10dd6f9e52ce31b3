import { setUpOffline } from './offline.ts';
import { App } from './ui/app.ts';
import { initialLang, setLang, storedLang } from './ui/i18n/index.ts';
import { storedEndpoint } from './ui/modelPicker.ts';
import { sourceFromUrl } from './ui/models.ts';
import './ui/styles.css';

// The embedded model ships in models/ beside the page, wherever the page is deployed (a sub-path too).
const DEFAULT_MODEL_URL = new URL('models/nexttoken-3m/', document.baseURI).href;

async function main(): Promise<void> {
  // First the service worker: on a host that sends no COOP/COEP, the first visit reloads once to be isolated.
  const offline = await setUpOffline();
  if (offline.reloading) return;
  // The language first: the page is built in it.
  setLang(initialLang(location.search, storedLang(), navigator.languages), false);
  const root = document.getElementById('app')!;
  root.replaceChildren(); // the "Loading…" line (and the no-script note) that stood in for the app
  const app = new App(root, DEFAULT_MODEL_URL, offline);
  await app.start(sourceFromUrl(location.search, DEFAULT_MODEL_URL, storedEndpoint()));
}

void main();
