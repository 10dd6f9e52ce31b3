import { App } from './ui/app.ts';
import './ui/styles.css';

// The embedded model ships in models/ and is served with the app: no network needed.
const DEFAULT_MODEL_URL = `${import.meta.env.BASE_URL}models/nexttoken-3m/`;

const params = new URLSearchParams(location.search);
const app = new App(document.getElementById('app')!);
void app.start(params.get('modelUrl') ?? DEFAULT_MODEL_URL);
