// The model picker: the embedded model or a Hub model (presets with their download size, or any id),
// the Hub endpoint, and the cache of downloaded models. It only builds the source to load; the app loads it.
import { PRECISIONS, type CachedModel, type ModelSource, type WeightDType } from '../../worker/protocol.ts';
import { clear, h } from '../dom.ts';
import { label, onLangChange, t } from '../i18n/index.ts';
import { DEFAULT_ENDPOINT, endpointKey, hubLabel, parseHubRef } from '../../engine/load/hubRef.ts';
import { embeddedIdOf, PRESETS, presetLabel, type EmbeddedUrls } from '../models.ts';

const OTHER = 'other';
const ENDPOINT_KEY = 'nexttoken.hubEndpoint';

export interface PickerActions {
  load(source: ModelSource, choice: string): void;
  /** Load the current model again at another precision (its weight matrices quantized on load). */
  setPrecision(dtype: WeightDType): void;
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
  private readonly precision: HTMLSelectElement;
  private readonly customId: HTMLInputElement;
  private readonly endpoint: HTMLInputElement;
  private readonly loadBtn: HTMLButtonElement;
  private readonly cacheList: HTMLElement;
  private readonly removeBtn: HTMLButtonElement;
  private readonly note: HTMLElement;

  constructor(
    private readonly embedded: EmbeddedUrls,
    private readonly actions: PickerActions,
  ) {
    this.select = label(
      h(
        'select',
        { id: 'model-select' },
        ...PRESETS.map((p) => label(h('option', { value: p.id }), (d) => presetLabel(p, d))),
        label(h('option', { value: OTHER }), (d) => d.otherModel),
      ),
      (d) => d.model,
      'aria-label',
    );
    this.precision = label(
      h('select', { id: 'precision-select' }, ...PRECISIONS.map((p) => label(h('option', { value: p }), (d) => d.precisionNames[p]))),
      (d) => d.weightPrecision,
      'aria-label',
    );
    this.customId = label(label(h('input', { type: 'text', hidden: true, spellcheck: 'false', translate: 'no' }), (d) => d.hubModelId, 'aria-label'), (d) => d.hubIdPlaceholder, 'placeholder');
    this.loadBtn = label(h('button', { type: 'button' }), (d) => d.loadModel);
    this.note = h('span', { class: 'hint', id: 'model-note' });
    this.endpoint = label(h('input', { type: 'url', value: storedEndpoint() ?? DEFAULT_ENDPOINT, spellcheck: 'false', translate: 'no' }), (d) => d.hubEndpoint, 'aria-label');
    this.cacheList = label(h('ul', { class: 'cache-list' }), (d) => d.cachedModels, 'aria-label');
    this.removeBtn = label(h('button', { type: 'button' }), (d) => d.removeCached);
    const settings = h(
      'details',
      { class: 'hub-settings' },
      label(h('summary', {}), (d) => d.hubSettings),
      h('label', { class: 'field' }, label(h('span', {}), (d) => d.hubEndpoint), this.endpoint),
      label(h('p', { class: 'hint' }), (d) => d.cacheHint),
      this.cacheList,
      this.removeBtn,
    );
    onLangChange(() => {
      this.showChoice();
      if (settings.open) void this.refreshCache();
    });
    const precisionField = h('label', { class: 'field precision-field' }, label(h('span', {}), (d) => d.weightPrecision), this.precision);
    this.element = h('div', { class: 'model-picker' }, this.select, this.customId, this.loadBtn, this.note, precisionField, settings);
    this.precision.addEventListener('change', () => this.actions.setPrecision(this.precision.value as WeightDType));

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

  /** Shows which model is loaded (or being loaded), and at which precision, without reloading it. */
  show(source: ModelSource, dtype?: WeightDType): void {
    if (dtype) this.precision.value = dtype;
    const id = embeddedIdOf(source, this.embedded) ?? (source.kind === 'url' ? source.url : source.id);
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
    this.precision.disabled = busy;
  }

  private showChoice(): void {
    this.customId.hidden = this.select.value !== OTHER;
    const preset = PRESETS.find((p) => p.id === this.select.value);
    this.note.classList.remove('bad');
    this.note.textContent = preset ? preset.note(t()) : t().anyModel;
  }

  /** Builds the source from the controls; a malformed id or endpoint is reported, nothing is loaded. */
  private submit(): void {
    const choice = this.select.value;
    if (choice in this.embedded) return this.actions.load({ kind: 'url', url: this.embedded[choice] }, choice);
    const raw = choice === OTHER ? this.customId.value.trim() : choice;
    const ref = parseHubRef(raw);
    if (!ref) {
      this.note.textContent = t().notHubId(raw);
      this.note.classList.add('bad');
      return;
    }
    this.note.classList.remove('bad');
    let endpoint = this.endpoint.value.trim() || DEFAULT_ENDPOINT;
    try {
      endpoint = new URL(endpoint).href.replace(/\/+$/, '');
    } catch {
      this.note.textContent = t().notUrl(endpoint);
      this.note.classList.add('bad');
      return;
    }
    this.actions.load({ kind: 'hub', ...ref, endpoint }, raw);
  }

  async refreshCache(): Promise<void> {
    clear(this.cacheList);
    let models: CachedModel[];
    try {
      models = await this.actions.listCache();
    } catch (e) {
      this.cacheList.append(h('li', {}, t().cacheUnreadable((e as Error).message)));
      return;
    }
    if (!models.length) this.cacheList.append(h('li', {}, t().noCached));
    for (const m of models) {
      // The server is named unless it is the Hub itself: the same id from a mirror is another entry.
      const from = m.endpoint === endpointKey(DEFAULT_ENDPOINT) ? '' : ` (${m.endpoint})`;
      this.cacheList.append(h('li', {}, h('span', { translate: 'no' }, hubLabel(m) + from), ` · ${(m.bytes / 1e6).toFixed(1)} MB${m.complete ? '' : t().incomplete}`));
    }
    this.removeBtn.disabled = !models.length;
  }
}
