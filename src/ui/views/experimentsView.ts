// Two experiments: the prompt continued at several temperatures side by side (same seed), and the
// perplexity of a pasted text with each token coloured by how surprising the model found it.
import { parseSetting } from '../../sampling/limits.ts';
import { clear, h, pct, probText, visibleToken } from '../dom.ts';
import type { TemperatureColumn } from '../../engine/tools/compare.ts';
import type { EngineClient } from '../engineClient.ts';
import { label, lang, onLangChange, t } from '../i18n/index.ts';
import { probBucket } from '../tokens.ts';

/** Texts to measure perplexity on, per interface language (a Bible verse and a Debian-manual sentence: both kinds of text the embedded model read). */
const SAMPLE_TEXT: Record<'en' | 'zh', string> = { en: 'In the beginning God created the heavens and the earth.', zh: '软件包管理系统可以安装、升级和删除软件。' };
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';

export interface ExperimentsHost extends ToolHost {
  /** The current prompt's ids, seed and max tokens (from the main controls). */
  promptSetup(): Promise<{ promptIds: number[]; seed: number; maxTokens: number; prompt: string }>;
}

export class ExperimentsView {
  readonly element: HTMLElement;
  private readonly temps: HTMLInputElement;
  private readonly columns: HTMLElement;
  private readonly text: HTMLTextAreaElement;
  private readonly surprise: HTMLElement;
  private lastColumns: { cols: TemperatureColumn[]; prompt: string } | null = null;
  private readonly availability: Availability;
  private lastPerplexity: Awaited<ReturnType<EngineClient['perplexity']>> | null = null;

  constructor(
    private readonly client: EngineClient,
    private readonly host: ExperimentsHost,
  ) {
    this.temps = label(h('input', { type: 'text', value: '0, 0.7, 1, 1.5', spellcheck: 'false' }), (d) => d.temperatures, 'aria-label');
    const compare = label(h('button', { type: 'button', class: 'primary' }), (d) => d.compareTemps);
    this.columns = label(h('div', { class: 'temp-columns', role: 'region' }), (d) => d.temperatureColumns, 'aria-label');
    // A sample text in the interface's language (the learner's text, not a UI string: it is not translated
    // once typed in; an untouched sample follows a language switch).
    this.text = label(h('textarea', { rows: 3, translate: 'no' }, SAMPLE_TEXT[lang()]), (d) => d.textToMeasure, 'aria-label');
    const measure = label(h('button', { type: 'button', class: 'primary' }), (d) => d.measure);
    this.availability = new Availability([compare, measure]);
    this.surprise = label(h('div', { class: 'surprise', role: 'region' }), (d) => d.tokenSurprise, 'aria-label');
    this.element = toolPanel(
      'experiments',
      (d) => d.experiments,
      (d) => d.sideBySide,
      (d) => d.sideHint,
      this.availability.note,
      h('div', { class: 'buttons' }, h('label', { class: 'inline' }, label(h('span', {}), (d) => d.temperatures), ' ', this.temps), compare),
      this.columns,
      label(h('h2', {}), (d) => d.perplexityTitle),
      label(h('p', { class: 'hint' }), (d) => d.perplexityHint),
      this.text,
      h('div', { class: 'buttons' }, measure),
      this.surprise,
    );
    onLangChange(() => {
      if (Object.values(SAMPLE_TEXT).includes(this.text.value)) this.text.value = SAMPLE_TEXT[lang()];
      if (this.lastColumns) this.renderColumns(this.lastColumns.cols, this.lastColumns.prompt);
      if (this.lastPerplexity) this.renderPerplexity(this.lastPerplexity);
    });
    compare.addEventListener('click', () => void this.run(() => this.compare()));
    measure.addEventListener('click', () => void this.run(() => this.measure()));
  }

  /** Why the engine cannot be used now (null: it can). */
  setBlocked(reason: string | null): void {
    this.availability.set(reason);
  }

  private run(action: () => Promise<void>): Promise<void> {
    return this.availability.run(this.host, action);
  }

  private async compare(): Promise<void> {
    const temperatures = this.temps.value.split(/[,，\s]+/).filter(Boolean).map(Number);
    if (!temperatures.length || temperatures.length > 6 || temperatures.some((x) => parseSetting('temperature', x) === null)) {
      throw new Error(t().tempsInvalid(this.temps.value));
    }
    const { promptIds, seed, maxTokens, prompt } = await this.host.promptSetup();
    clear(this.columns);
    this.lastColumns = null;
    const cols = await this.client.compareTemperatures(promptIds, temperatures, seed, Math.min(maxTokens, 60));
    this.lastColumns = { cols, prompt };
    this.renderColumns(cols, prompt);
  }

  /** The columns, labelled with the prompt they continue (the prompt box may have changed since). */
  private renderColumns(cols: TemperatureColumn[], prompt: string): void {
    clear(this.columns);
    const d = t();
    this.columns.append(h('p', { class: 'hint computed-for', translate: 'no', style: 'grid-column: 1 / -1' }, d.computedForPrompt(prompt)));
    for (const c of cols) {
      const chips = c.tokens.map((x) =>
        h('span', { class: `chip tok s${probBucket(x.rawProb)}`, translate: 'no', title: d.chipTitle(pct(x.rawProb), pct(x.prob), x.entropy.toFixed(2)), 'data-id': x.id }, visibleToken(x.token)),
      );
      this.columns.append(
        h('div', { class: 'temp-col', 'data-temperature': c.temperature }, h('h3', {}, d.columnTitle(c.temperature)), h('p', { class: 'hint' }, d.meanEntropy(c.meanEntropy.toFixed(2))), h('div', { class: 'chips' }, ...chips)),
      );
    }
  }

  private async measure(): Promise<void> {
    clear(this.surprise);
    this.lastPerplexity = null;
    this.renderPerplexity((this.lastPerplexity = await this.client.perplexity(this.text.value)));
  }

  private renderPerplexity(r: NonNullable<ExperimentsView['lastPerplexity']>): void {
    clear(this.surprise);
    const d = t();
    this.surprise.dataset.perplexity = String(r.perplexity);
    this.surprise.append(
      h('p', {}, h('strong', {}, d.perplexityLine(r.perplexity.toFixed(2))), d.perplexityRest(r.bitsPerToken.toFixed(2), r.tokens.length)),
      h('div', { class: 'chips', translate: 'no' }, ...r.tokens.map((x) => h('span', { class: `chip tok b${Math.min(4, Math.floor(x.bits / 3))}`, title: `${probText(x.prob)} · ${d.bits(x.bits.toFixed(2))}`, 'data-bits': x.bits }, visibleToken(x.token)))),
      h('p', { class: 'hint' }, d.surpriseLegend),
    );
  }
}
