// Two experiments: the prompt continued at several temperatures side by side (same seed), and the
// perplexity of a pasted text with each token coloured by how surprising the model found it.
import { clear, h, pct, probText, visibleToken } from './dom.ts';
import type { EngineClient } from './engineClient.ts';

export interface ExperimentsHost {
  canRun(): boolean;
  setBusy(busy: boolean): void;
  error(message: string): void;
  /** The current prompt's ids, seed and max tokens (from the main controls). */
  promptSetup(): Promise<{ promptIds: number[]; seed: number; maxTokens: number }>;
}

export class ExperimentsView {
  readonly element: HTMLElement;
  private readonly temps: HTMLInputElement;
  private readonly columns: HTMLElement;
  private readonly text: HTMLTextAreaElement;
  private readonly surprise: HTMLElement;

  constructor(
    private readonly client: EngineClient,
    private readonly host: ExperimentsHost,
  ) {
    this.temps = h('input', { type: 'text', 'aria-label': 'Temperatures', value: '0, 0.7, 1, 1.5', spellcheck: 'false' });
    const compare = h('button', { type: 'button', class: 'primary' }, 'Compare temperatures');
    this.columns = h('div', { class: 'temp-columns', role: 'region', 'aria-label': 'Temperature columns' });
    this.text = h('textarea', { 'aria-label': 'Text to measure', rows: 3 }, 'In the beginning God created the heavens and the earth.');
    const measure = h('button', { type: 'button', class: 'primary' }, 'Measure perplexity');
    this.surprise = h('div', { class: 'surprise', role: 'region', 'aria-label': 'Token surprise' });
    this.element = h(
      'section',
      { class: 'panel experiments', 'aria-label': 'Experiments' },
      h('h2', {}, 'Temperature side by side'),
      h('p', { class: 'hint' }, 'Your prompt, continued at each temperature with the same seed (top-k and top-p off), so only the temperature differs.'),
      h('div', { class: 'buttons' }, h('label', { class: 'inline' }, 'Temperatures ', this.temps), compare),
      this.columns,
      h('h2', {}, 'Perplexity of a text'),
      h('p', { class: 'hint' }, 'How surprised the model is by each token of a text: −log₂ p bits. Perplexity = 2 to the mean surprise: about how many tokens it was choosing between, on average.'),
      this.text,
      h('div', { class: 'buttons' }, measure),
      this.surprise,
    );
    compare.addEventListener('click', () => void this.run(() => this.compare()));
    measure.addEventListener('click', () => void this.run(() => this.measure()));
  }

  private async run(action: () => Promise<void>): Promise<void> {
    if (!this.host.canRun()) return;
    this.host.setBusy(true);
    try {
      await action();
    } catch (e) {
      this.host.error((e as Error).message);
    } finally {
      this.host.setBusy(false);
    }
  }

  private async compare(): Promise<void> {
    const temperatures = this.temps.value.split(/[,，\s]+/).filter(Boolean).map(Number);
    if (!temperatures.length || temperatures.length > 6 || temperatures.some((t) => !Number.isFinite(t) || t < 0 || t > 5)) {
      throw new Error(`Temperatures: give 1 to 6 numbers from 0 to 5, separated by commas (got "${this.temps.value}").`);
    }
    const { promptIds, seed, maxTokens } = await this.host.promptSetup();
    clear(this.columns);
    const cols = await this.client.compareTemperatures(promptIds, temperatures, seed, Math.min(maxTokens, 60));
    for (const c of cols) {
      const chips = c.tokens.map((t) =>
        h('span', { class: `chip tok s${bucket(t.rawProb)}`, title: `${pct(t.rawProb)} at T = 1 · ${pct(t.prob)} here · entropy ${t.entropy.toFixed(2)} bits`, 'data-id': t.id }, visibleToken(t.token)),
      );
      this.columns.append(
        h('div', { class: 'temp-col', 'data-temperature': c.temperature }, h('h3', {}, c.temperature === 0 ? 'T = 0 (greedy)' : `T = ${c.temperature}`), h('p', { class: 'hint' }, `mean entropy ${c.meanEntropy.toFixed(2)} bits`), h('div', { class: 'chips' }, ...chips)),
      );
    }
  }

  private async measure(): Promise<void> {
    clear(this.surprise);
    const r = await this.client.perplexity(this.text.value);
    this.surprise.dataset.perplexity = String(r.perplexity);
    this.surprise.append(
      h('p', {}, h('strong', {}, `Perplexity ${r.perplexity.toFixed(2)}`), ` · ${r.bitsPerToken.toFixed(2)} bits per token · ${r.tokens.length} tokens`),
      h('div', { class: 'chips' }, ...r.tokens.map((t) => h('span', { class: `chip tok b${Math.min(4, Math.floor(t.bits / 3))}`, title: `${probText(t.prob)} · ${t.bits.toFixed(2)} bits`, 'data-bits': t.bits }, visibleToken(t.token)))),
      h('p', { class: 'hint' }, 'Darker = more surprising (0–3, 3–6, 6–9, 9–12, 12+ bits).'),
    );
  }
}

function bucket(p: number): number {
  return p < 0.05 ? 0 : p < 0.2 ? 1 : p < 0.5 ? 2 : p < 0.8 ? 3 : 4;
}
