// The model picker: the embedded model or a Hub model (presets with their download size, or any id),
// the Hub endpoint, and the cache of downloaded models. It only builds the source to load; the app loads it.
import type { CachedModel, ModelSource } from '../worker/protocol.ts';
import { clear, h } from './dom.ts';
import { DEFAULT_HUB_ENDPOINT, EMBEDDED_ID, PRESETS, presetLabel } from './models.ts';

const OTHER = 'other';
const ENDPOINT_KEY = 'nexttoken.hubEndpoint';

export interface PickerActions {
  load(source: ModelSource, choice: string): void;
  listCache(): Promise<CachedModel[]>;
  removeCache(): Promise<void>;
}

export function storedEndpoint(): string | null {
  try {
    return localStorage.getItem(ENDPOINT_KEY);
  } catch {
    return null; // storage can be blocked; the default endpoint still works
  }
}

export class ModelPicker {
  readonly element: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly customId: HTMLInputElement;
  private readonly endpoint: HTMLInputElement;
  private readonly loadBtn: HTMLButtonElement;
  private readonly cacheList: HTMLElement;
  private readonly removeBtn: HTMLButtonElement;
  private readonly note: HTMLElement;

  constructor(
    private readonly embeddedUrl: string,
    private readonly actions: PickerActions,
  ) {
    this.select = h(
      'select',
      { 'aria-label': 'Model', id: 'model-select' },
      ...PRESETS.map((p) => h('option', { value: p.id }, presetLabel(p))),
      h('option', { value: OTHER }, 'Other Hub model…'),
    );
    this.customId = h('input', { type: 'text', 'aria-label': 'Hub model id', placeholder: 'owner/name, e.g. openai-community/gpt2', hidden: true, spellcheck: 'false' });
    this.loadBtn = h('button', { type: 'button' }, 'Load model');
    this.note = h('span', { class: 'hint', id: 'model-note' });
    this.endpoint = h('input', { type: 'url', 'aria-label': 'Hub endpoint', value: storedEndpoint() ?? DEFAULT_HUB_ENDPOINT, spellcheck: 'false' });
    this.cacheList = h('ul', { class: 'cache-list', 'aria-label': 'Cached models' });
    this.removeBtn = h('button', { type: 'button' }, 'Remove cached models');
    const settings = h(
      'details',
      { class: 'hub-settings' },
      h('summary', {}, 'Hub settings and cache'),
      h('label', { class: 'field' }, h('span', {}, 'Hub endpoint'), this.endpoint),
      h('p', { class: 'hint' }, 'Downloaded models are kept in this browser and load offline next time.'),
      this.cacheList,
      this.removeBtn,
    );
    this.element = h('div', { class: 'model-picker' }, this.select, this.customId, this.loadBtn, this.note, settings);

    this.select.addEventListener('change', () => this.showChoice());
    this.customId.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.submit();
    });
    this.loadBtn.addEventListener('click', () => this.submit());
    this.endpoint.addEventListener('change', () => {
      try {
        localStorage.setItem(ENDPOINT_KEY, this.endpoint.value.trim());
      } catch {
        /* not persisted; still used for this session */
      }
    });
    settings.addEventListener('toggle', () => settings.open && void this.refreshCache());
    this.removeBtn.addEventListener('click', () => void this.actions.removeCache().then(() => this.refreshCache()));
  }

  /** Shows which model is loaded (or being loaded) without reloading it. */
  show(source: ModelSource): void {
    const id = source.kind === 'url' ? EMBEDDED_ID : source.id;
    if (source.kind === 'hub') this.endpoint.value = source.endpoint;
    if (PRESETS.some((p) => p.id === id)) this.select.value = id;
    else {
      this.select.value = OTHER;
      this.customId.value = id;
    }
    this.showChoice();
  }

  setBusy(busy: boolean): void {
    this.loadBtn.disabled = busy;
    this.select.disabled = busy;
  }

  private showChoice(): void {
    this.customId.hidden = this.select.value !== OTHER;
    const preset = PRESETS.find((p) => p.id === this.select.value);
    this.note.textContent = preset ? preset.note : 'any public GPT-2 or Llama-family model with safetensors weights';
  }

  /** Builds the source from the controls; a malformed id or endpoint is reported, nothing is loaded. */
  private submit(): void {
    const choice = this.select.value;
    if (choice === EMBEDDED_ID) return this.actions.load({ kind: 'url', url: this.embeddedUrl }, EMBEDDED_ID);
    const raw = choice === OTHER ? this.customId.value.trim() : choice;
    const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(raw);
    if (!m) {
      this.note.textContent = `"${raw}" is not a Hub model id: it looks like owner/name, e.g. openai-community/gpt2.`;
      this.note.classList.add('bad');
      return;
    }
    this.note.classList.remove('bad');
    let endpoint = this.endpoint.value.trim() || DEFAULT_HUB_ENDPOINT;
    try {
      endpoint = new URL(endpoint).href.replace(/\/+$/, '');
    } catch {
      this.note.textContent = `The Hub endpoint "${endpoint}" is not a URL (for example ${DEFAULT_HUB_ENDPOINT}).`;
      this.note.classList.add('bad');
      return;
    }
    this.actions.load({ kind: 'hub', id: m[1], revision: m[2] ?? 'main', endpoint }, raw);
  }

  async refreshCache(): Promise<void> {
    clear(this.cacheList);
    let models: CachedModel[];
    try {
      models = await this.actions.listCache();
    } catch (e) {
      this.cacheList.append(h('li', {}, `The cache cannot be read here: ${(e as Error).message}`));
      return;
    }
    if (!models.length) this.cacheList.append(h('li', {}, 'No models cached yet.'));
    for (const m of models) {
      this.cacheList.append(h('li', {}, `${m.id}${m.revision === 'main' ? '' : '@' + m.revision} · ${(m.bytes / 1e6).toFixed(1)} MB${m.complete ? '' : ' (incomplete)'}`));
    }
    this.removeBtn.disabled = !models.length;
  }
}
