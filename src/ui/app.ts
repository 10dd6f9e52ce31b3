// The app: state, actions and rendering. Talks to the engine only through the worker client.
import type { GenerationSummary, StepRecord } from '../engine/generate.ts';
import { randomSeed as newRandomSeed } from '../sampling/prng.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { describeChoice } from '../sampling/step.ts';
import { clear, download, h, pct, visibleToken } from './dom.ts';
import { EngineClient } from './engineClient.ts';
import { buildLayout, type Layout } from './layout.ts';
import { StepPanel } from './stepPanel.ts';
import { readSetup, writeSetup, type Setup } from './urlState.ts';
import type { LoadProgressMsg, ModelInfo, ModelSource, TokenView } from '../worker/protocol.ts';
import { describeSource, EMBEDDED_ID } from './models.ts';
import { ModelPicker } from './modelPicker.ts';

/** One generated continuation of one prompt. Branches are runs that share a prefix. */
interface Run {
  promptIds: number[];
  steps: StepRecord[];
  seed: number;
  summary?: GenerationSummary;
  label: string;
  text?: string; // the decoded continuation (a chat turn's reply)
}
interface ChatTurn {
  user: string;
  run: Run;
}

const LOW_CONFIDENCE_BITS = 3; // raw entropy above this marks a token as "unsure"

export class App {
  private readonly ui: Layout;
  private readonly client = new EngineClient();
  private readonly panel: StepPanel;
  private readonly picker: ModelPicker;
  private setup: Setup;
  private model: ModelInfo | null = null;
  private backendName = '';
  private branches: Run[] = [];
  private current = -1;
  private chat: ChatTurn[] = [];
  private selected: { run: Run; step: number } | null = null;
  private running: Run | null = null;
  private loading = false;
  private runStart = 0;
  private firstTokenAt = 0;

  constructor(root: HTMLElement, embeddedUrl: string) {
    this.ui = buildLayout(root);
    this.picker = new ModelPicker(embeddedUrl, {
      load: (source, choice) => void this.loadModel(source, choice),
      listCache: () => this.client.cachedModels(),
      removeCache: () => this.client.removeCachedModels(),
    });
    this.ui.modelSlot.append(this.picker.element);
    this.panel = new StepPanel(this.ui.stepPanel, { onPick: (id) => (this.ui.continueBtn.disabled = id === null || this.client.busy) });
    this.setup = readSetup(location.search);
    this.showSetup();
    this.wire();
    this.renderAll();
  }

  start(source: ModelSource): Promise<void> {
    this.picker.show(source);
    return this.loadModel(source, null);
  }

  /**
   * Loads a model in the worker. While it loads, the current model (if any) keeps working in the
   * worker but generation is paused; if loading fails, the current model, prompt, conversation and
   * settings all stay as they were.
   */
  private async loadModel(source: ModelSource, choice: string | null): Promise<void> {
    if (this.client.busy) this.client.stop();
    this.clearError();
    this.client.onProgress = (p) => this.showProgress(p);
    let warning = '';
    this.client.onWarning = (message) => (warning = message);
    this.ui.loadBox.hidden = false;
    this.ui.progress.value = 0;
    this.ui.progressText.textContent = `Loading ${describeSource(source)}…`;
    this.picker.setBusy(true);
    this.loading = true;
    this.refreshBusy();
    const backends = new URLSearchParams(location.search).get('backend')?.split(',');
    try {
      const r = await this.client.load(source, backends);
      const switched = this.model !== null;
      this.model = r.model;
      this.backendName = r.backend.backend;
      this.ui.backend.textContent = r.backend.description;
      this.ui.modelInfo.textContent = `${r.model.name} · ${(r.model.params / 1e6).toFixed(2)}M parameters · ${(r.model.weightBytes / 1e6).toFixed(1)} MB · context ${r.model.contextLength}`;
      this.ui.loadBox.hidden = true;
      if (switched) {
        // Token ids belong to one tokenizer: the previous model's runs cannot be continued by this one.
        this.branches = [];
        this.current = -1;
        this.chat = [];
        this.selected = null;
        this.renderAll();
      }
      if (choice !== null) {
        const q = new URLSearchParams(location.search);
        q.delete('modelUrl');
        if (choice === EMBEDDED_ID) q.delete('model');
        else q.set('model', choice);
        if (source.kind === 'hub') q.set('hubEndpoint', source.endpoint);
        history.replaceState(null, '', `?${q}`);
      }
      document.body.dataset.ready = 'true';
      document.body.dataset.model = r.model.name;
      if (warning) this.error(warning);
      void this.showPromptTokens();
    } catch (e) {
      this.ui.progressText.textContent = this.model ? `Still using ${this.model.name}.` : 'The model could not be loaded.';
      this.error(`Loading ${describeSource(source)} failed: ${(e as Error).message}`);
    } finally {
      this.loading = false;
      this.picker.setBusy(false);
      this.refreshBusy();
    }
  }

  private showProgress(p: LoadProgressMsg): void {
    const total = p.overallTotal ?? p.total;
    const loaded = p.overallTotal ? p.overallLoaded : p.loaded;
    if (total) this.ui.progress.value = loaded / total;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    this.ui.progressText.textContent = `${p.fromCache ? 'From the cache' : 'Downloading'}: ${p.file} ${mb(p.loaded)}${p.total ? ` of ${mb(p.total)}` : ''} MB${p.overallTotal ? ` · all weights ${mb(p.overallLoaded)} of ${mb(p.overallTotal)} MB` : ''}`;
  }

  private get settings(): SamplingSettings {
    return { temperature: this.setup.temperature, topK: this.setup.topK, topP: this.setup.topP };
  }

  // ---------- controls ----------
  private showSetup(): void {
    const u = this.ui;
    const s = this.setup;
    u.prompt.value = s.prompt;
    u.temperature.value = String(s.temperature);
    u.temperatureOut.textContent = s.temperature === 0 ? '0 (greedy)' : String(s.temperature);
    u.topK.value = String(s.topK);
    u.topP.value = String(s.topP);
    u.topPOut.textContent = String(s.topP);
    u.seed.value = String(s.seed);
    u.randomSeed.checked = s.randomSeed;
    u.maxTokens.value = String(s.maxTokens);
    u.pace.value = String(s.delayMs);
    this.setMode(s.mode);
  }

  /** Reads the controls; an out-of-range value is reported and the last good value kept. */
  private readControls(): void {
    const u = this.ui;
    const s = { ...this.setup };
    const whole = (el: HTMLInputElement, name: string, min: number, max: number, fallback: number) => {
      const n = Number(el.value);
      if (el.value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
        this.error(`${name} must be a whole number from ${min} to ${max}; keeping ${fallback}.`);
        return fallback;
      }
      return n;
    };
    s.temperature = Number(u.temperature.value);
    s.topP = Number(u.topP.value);
    s.topK = whole(u.topK, 'Top-k', 0, this.model?.vocabSize ?? 1e6, s.topK);
    s.seed = whole(u.seed, 'Seed', 0, 2 ** 32 - 1, s.seed);
    s.maxTokens = whole(u.maxTokens, 'Max tokens', 1, 1000, s.maxTokens);
    s.randomSeed = u.randomSeed.checked;
    s.delayMs = Number(u.pace.value);
    s.prompt = u.prompt.value;
    this.setup = s;
    u.temperatureOut.textContent = s.temperature === 0 ? '0 (greedy)' : String(s.temperature);
    u.topPOut.textContent = String(s.topP);
    history.replaceState(null, '', writeSetup(s, new URLSearchParams(location.search)));
    if (this.client.busy) this.client.updateSettings(this.settings, s.delayMs); // takes effect from the next token
    this.renderPanel();
  }

  private setMode(mode: Setup['mode']): void {
    this.setup.mode = mode;
    this.ui.completeBtn.setAttribute('aria-pressed', String(mode === 'complete'));
    this.ui.chatBtn.setAttribute('aria-pressed', String(mode === 'chat'));
    this.ui.completeBox.hidden = mode !== 'complete';
    this.ui.chatBox.hidden = mode !== 'chat';
    this.selected = null;
    history.replaceState(null, '', writeSetup(this.setup, new URLSearchParams(location.search)));
    this.renderAll();
  }

  private wire(): void {
    const u = this.ui;
    for (const el of [u.temperature, u.topK, u.topP, u.seed, u.randomSeed, u.maxTokens, u.pace]) el.addEventListener('input', () => this.readControls());
    let debounce = 0;
    u.prompt.addEventListener('input', () => {
      this.readControls();
      clearTimeout(debounce);
      debounce = window.setTimeout(() => void this.showPromptTokens(), 150);
    });
    u.completeBtn.addEventListener('click', () => this.setMode('complete'));
    u.chatBtn.addEventListener('click', () => this.setMode('chat'));
    u.generate.addEventListener('click', () => void this.generate(false));
    u.nextToken.addEventListener('click', () => void this.generate(true));
    u.send.addEventListener('click', () => void this.send());
    u.stop.addEventListener('click', () => this.client.stop());
    u.clearChat.addEventListener('click', () => {
      this.chat = [];
      this.selected = null;
      this.renderAll();
    });
    u.continueBtn.addEventListener('click', () => void this.continueFromHere());
    u.branches.addEventListener('change', () => {
      this.current = Number(u.branches.value);
      this.selected = null;
      this.renderAll();
    });
    const submitOnCtrlEnter = (go: () => void) => (e: KeyboardEvent) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        go();
      }
    };
    u.prompt.addEventListener('keydown', submitOnCtrlEnter(() => void this.generate(false)));
    u.message.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.send();
      }
    });
    u.copyLink.addEventListener('click', () => void navigator.clipboard?.writeText(location.href).catch(() => this.error('Copying needs clipboard permission; the link is the page address.')));
    u.exportRun.addEventListener('click', () => this.exportRun());
    u.exportChart.addEventListener('click', () => {
      const png = this.panel.image();
      if (png) download('nexttoken-step.png', png);
      else this.error('Select a token first: there is no chart to export yet.');
    });
  }

  // ---------- actions ----------
  private seedForRun(): number {
    if (this.setup.randomSeed) {
      this.setup.seed = newRandomSeed();
      this.ui.seed.value = String(this.setup.seed);
    }
    return this.setup.seed;
  }

  private async generate(single: boolean): Promise<void> {
    if (!this.ready()) return;
    this.readControls();
    const text = this.setup.prompt;
    if (!text.trim()) return this.error('The prompt is empty: type the start of a text for the model to continue.');
    try {
      const promptIds = (await this.client.tokenize(text)).map((t) => t.id);
      const cur = this.branches[this.current];
      const sameRun = single && cur && sameIds(cur.promptIds, promptIds) && cur.summary?.stopReason !== 'eos' && cur.summary?.stopReason !== 'contextFull';
      const run: Run = sameRun ? cur : { promptIds, steps: [], seed: this.seedForRun(), label: `Branch ${this.branches.length + 1}` };
      if (!sameRun) {
        this.branches.push(run);
        this.current = this.branches.length - 1;
      }
      this.startRun(run, single ? 1 : this.setup.maxTokens);
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  private async send(): Promise<void> {
    if (!this.ready()) return;
    this.readControls();
    const user = this.ui.message.value;
    if (!user.trim()) return this.error('The message is empty: type a question for the model.');
    try {
      const messages = this.chat.flatMap((t) => [
        { role: 'user' as const, content: t.user },
        { role: 'assistant' as const, content: t.run.text ?? '' },
      ]);
      messages.push({ role: 'user', content: user });
      const text = await this.client.chatPrompt(messages);
      const views = await this.client.tokenize(text);
      const promptIds = views.map((t) => t.id);
      this.renderPromptTokens(views);
      if (promptIds.length >= (this.model?.contextLength ?? Infinity)) {
        return this.error(`The conversation is ${promptIds.length} tokens, more than this model reads (${this.model?.contextLength}). Start a new chat; your message is still in the box.`);
      }
      const turn: ChatTurn = { user, run: { promptIds, steps: [], seed: this.seedForRun(), label: '' } };
      this.chat.push(turn);
      this.ui.message.value = '';
      this.startRun(turn.run, this.setup.maxTokens, () => {
        // Nothing is lost: the message goes back into the box, the failed turn is dropped.
        this.chat.pop();
        this.ui.message.value = user;
      });
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** Branch: the picked candidate replaces the token at the selected step; generation goes on from there. */
  private async continueFromHere(): Promise<void> {
    const sel = this.selected;
    const id = this.panel.pickedId;
    if (!sel || id === null || !this.ready()) return;
    const base = sel.run.steps[sel.step];
    if (!base.logits) return;
    const [view] = await this.client.labels([id]);
    const forced: StepRecord = {
      ...describeChoice(base.logits, base.settings, id),
      step: base.step,
      position: base.position,
      token: view.label,
      top: base.top,
      settings: base.settings,
      logits: base.logits,
    };
    const run: Run = { promptIds: sel.run.promptIds, steps: [...sel.run.steps.slice(0, sel.step), forced], seed: sel.run.seed, label: `Branch ${this.branches.length + 1} (from step ${sel.step + 1})` };
    if (this.setup.mode === 'chat') {
      const turn = this.chat.find((t) => t.run === sel.run);
      if (!turn) return;
      turn.run = run;
    } else {
      this.branches.push(run);
      this.current = this.branches.length - 1;
    }
    this.selected = { run, step: sel.step };
    this.startRun(run, Math.max(1, this.setup.maxTokens - run.steps.length));
  }

  private startRun(run: Run, maxTokens: number, onError?: () => void): void {
    const ids = [...run.promptIds, ...run.steps.map((s) => s.id)];
    const drawsUsed = run.steps.filter((s) => s.draw !== null).length;
    const eos = this.model?.eosIds ?? [];
    if (run.steps.length && eos.includes(run.steps[run.steps.length - 1].id)) return this.error('This text already ended (end-of-text token). Edit the prompt or branch from an earlier token.');
    this.running = run;
    this.runStart = performance.now();
    this.firstTokenAt = 0;
    this.clearError();
    this.refreshBusy();
    this.renderAll();
    this.client.generate(ids, this.settings, run.seed, drawsUsed, maxTokens, this.setup.delayMs, {
      onStep: (r) => {
        if (!this.firstTokenAt) this.firstTokenAt = performance.now();
        run.steps.push({ ...r, step: run.steps.length });
        this.appendToken(run, run.steps.length - 1);
        if (!this.selected || this.selected.run !== run || this.panelFollows) this.select(run, run.steps.length - 1, false);
      },
      onDone: (summary) => {
        run.summary = summary;
        this.running = null;
        const ttft = this.firstTokenAt ? this.firstTokenAt - this.runStart : 0;
        const rate = summary.msPerToken > 0 ? `${(1000 / summary.msPerToken).toFixed(1)} tokens/s` : `${summary.generatedTokens} token`;
        this.ui.perf.textContent = `${rate} · first token after ${ttft.toFixed(0)} ms · stopped: ${describeStop(summary.stopReason)}`;
        void this.client.decode(run.steps.map((s) => s.id)).then((t) => (run.text = t.trim()));
        this.refreshBusy();
        this.renderAll();
        document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1); // for scripts: a run ended
      },
      onError: (message) => {
        this.running = null;
        onError?.();
        this.refreshBusy();
        this.renderAll();
        this.error(message);
        document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
      },
    });
  }

  /** While generating, the panel follows the newest token unless the learner picked an older one. */
  private get panelFollows(): boolean {
    return !!this.selected && this.selected.run === this.running && this.selected.step >= this.running.steps.length - 2;
  }

  private ready(): boolean {
    if (!this.model || this.loading) {
      this.error('The model is still loading.');
      return false;
    }
    if (this.client.busy) {
      this.error('The model is still generating: press Stop first.');
      return false;
    }
    return true;
  }

  private exportRun(): void {
    const runs = this.setup.mode === 'chat' ? this.chat.map((t) => t.run) : this.branches.slice(this.current, this.current + 1);
    if (!runs.length) return this.error('Nothing to export yet: generate some text first.');
    const data = {
      model: this.model?.name,
      backend: this.backendName,
      setup: this.setup,
      runs: runs.map((r) => ({ promptIds: r.promptIds, seed: r.seed, summary: r.summary, steps: r.steps.map(({ logits: _omit, ...rest }) => rest) })),
    };
    download('nexttoken-run.json', URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' })));
  }

  // ---------- rendering ----------
  private refreshBusy(): void {
    const busy = this.client.busy || this.loading;
    const u = this.ui;
    u.stop.disabled = !this.client.busy;
    u.generate.disabled = busy || !this.model;
    u.nextToken.disabled = busy || !this.model;
    u.send.disabled = busy || !this.model;
    u.continueBtn.disabled = busy || this.panel.pickedId === null;
    document.body.dataset.busy = String(busy);
  }

  private tokenButton(run: Run, i: number): HTMLButtonElement {
    const s = run.steps[i];
    const bucket = s.rawProb < 0.05 ? 0 : s.rawProb < 0.2 ? 1 : s.rawProb < 0.5 ? 2 : s.rawProb < 0.8 ? 3 : 4;
    const unsure = s.entropy > LOW_CONFIDENCE_BITS;
    const selected = this.selected?.run === run && this.selected.step === i;
    return h(
      'button',
      {
        type: 'button',
        class: `token p${bucket}${unsure ? ' low-conf' : ''}`,
        'data-id': s.id,
        'aria-label': `${s.token} ${pct(s.rawProb)}${unsure ? ', unsure' : ''}`,
        'aria-pressed': selected ? 'true' : 'false',
        title: `${pct(s.rawProb)} · entropy ${s.entropy.toFixed(2)} bits`,
        onclick: () => this.select(run, i, true),
        onkeydown: (e: Event) => this.tokenKeys(e as KeyboardEvent, run, i),
      },
      // Text, never HTML; control characters other than newline and tab are shown as their byte.
      s.token.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}>`),
    );
  }

  private tokenKeys(e: KeyboardEvent, run: Run, i: number): void {
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : -1;
    if (to < 0 || to >= run.steps.length) return;
    e.preventDefault();
    this.select(run, to, true);
    (this.ui.output.querySelector(`[data-run-step="${to}"][data-active="true"]`) as HTMLElement | null)?.focus();
  }

  private appendToken(run: Run, i: number): void {
    const target = this.ui.output.querySelector(`[data-live="true"]`);
    if (!target) return this.renderOutput();
    const b = this.tokenButton(run, i);
    b.dataset.runStep = String(i);
    b.dataset.active = 'true';
    target.append(b);
  }

  private select(run: Run, step: number, byUser: boolean): void {
    this.selected = { run, step };
    if (byUser) this.ui.continueBtn.disabled = true;
    this.renderOutputSelection();
    this.renderPanel();
  }

  private renderAll(): void {
    this.renderBranches();
    this.renderOutput();
    this.renderPanel();
  }

  private renderBranches(): void {
    const u = this.ui;
    clear(u.branches);
    u.branchBox.hidden = this.setup.mode !== 'complete' || this.branches.length < 2;
    this.branches.forEach((b, i) => u.branches.append(h('option', { value: i, selected: i === this.current }, b.label)));
  }

  private renderOutput(): void {
    const out = this.ui.output;
    clear(out);
    const tokensOf = (run: Run, live: boolean) => {
      const span = h('span', { class: 'gen', 'data-live': live ? 'true' : undefined });
      run.steps.forEach((_, i) => {
        const b = this.tokenButton(run, i);
        b.dataset.runStep = String(i);
        b.dataset.active = String(live);
        span.append(b);
      });
      return span;
    };
    if (this.setup.mode === 'complete') {
      const run = this.branches[this.current];
      if (!run) return void out.append(h('p', { class: 'hint' }, 'Press Generate to let the model continue your prompt, or Next token to go one step at a time.'));
      out.append(h('span', { class: 'prompt-text' }, this.setup.prompt), tokensOf(run, true));
    } else {
      if (!this.chat.length) return void out.append(h('p', { class: 'hint' }, 'Send a message to chat with the model.'));
      this.chat.forEach((t, i) => {
        const last = i === this.chat.length - 1;
        out.append(h('div', { class: 'turn user' }, h('strong', {}, 'You: '), t.user), h('div', { class: 'turn assistant' }, h('strong', {}, 'Model: '), tokensOf(t.run, last)));
      });
    }
  }

  private renderOutputSelection(): void {
    for (const b of this.ui.output.querySelectorAll<HTMLButtonElement>('button.token')) {
      const on = b.dataset.active === 'true' && this.selected !== null && Number(b.dataset.runStep) === this.selected.step && this.isActiveRun(this.selected.run);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  private isActiveRun(run: Run): boolean {
    return this.setup.mode === 'complete' ? this.branches[this.current] === run : this.chat[this.chat.length - 1]?.run === run;
  }

  private renderPanel(): void {
    const s = this.selected;
    const wide = window.matchMedia?.('(min-width: 900px)').matches ?? true;
    this.panel.render(s ? (s.run.steps[s.step] ?? null) : null, this.settings, wide ? 15 : 10);
    this.refreshBusy();
  }

  private async showPromptTokens(): Promise<void> {
    if (!this.model || this.setup.mode === 'chat') return;
    try {
      this.renderPromptTokens(await this.client.tokenize(this.setup.prompt));
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** The tokens the model reads: the prompt, or in chat the whole templated conversation, special tokens included. */
  private renderPromptTokens(views: TokenView[]): void {
    const box = this.ui.promptTokens;
    clear(box);
    for (const t of views) box.append(h('span', { class: t.special ? 'chip tok special' : 'chip tok', title: `id ${t.id}` }, visibleToken(t.label), h('sub', {}, String(t.id))));
    box.append(h('span', { class: 'hint' }, ` ${views.length} tokens`));
  }

  private error(message: string): void {
    this.ui.error.textContent = message;
  }
  private clearError(): void {
    this.ui.error.textContent = '';
  }
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function describeStop(r: GenerationSummary['stopReason']): string {
  return { eos: 'end of text', maxTokens: 'max tokens', aborted: 'Stop pressed', contextFull: 'context full' }[r];
}
