import { App } from './ui/app.ts';
import { initialLang, setLang, storedLang } from './ui/i18n/index.ts';
import { storedEndpoint } from './ui/modelPicker.ts';
import { sourceFromUrl } from './ui/models.ts';
import './ui/styles.css';

// The embedded model ships in models/ and is served with the app: no network needed.
const DEFAULT_MODEL_URL = `${import.meta.env.BASE_URL}models/nexttoken-3m/`;

// The language first: the page is built in it.
setLang(initialLang(location.search, storedLang(), navigator.languages), false);
const app = new App(document.getElementById('app')!, DEFAULT_MODEL_URL);
void app.start(sourceFromUrl(location.search, DEFAULT_MODEL_URL, storedEndpoint()));
