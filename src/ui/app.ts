// The app: state, actions and rendering. Talks to the engine only through the worker client.
import type { GenerationSummary, StepRecord } from '../engine/generate.ts';
import { randomSeed as newRandomSeed } from '../sampling/prng.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { describeChoice } from '../sampling/step.ts';
import { clear, download } from './dom.ts';
import { EngineClient } from './engineClient.ts';
import { readSetupFromControls, showSetup } from './controls.ts';
import { buildLayout, type Layout } from './layout.ts';
import { promptChips } from './tokens.ts';
import { Transcript, type ChatTurn, type Run } from './transcript.ts';
import { StepPanel } from './stepPanel.ts';
import { readSetup, writeSetup, type Setup } from './urlState.ts';
import type { LoadProgressMsg, ModelInfo, ModelSource, TokenView } from '../worker/protocol.ts';
import { describeSource, modelQuery, progressLine } from './models.ts';
import { onLangChange, setLang, t as tr, type Lang } from './i18n/index.ts';
import { ModelPicker } from './modelPicker.ts';
import { LensView } from './lensView.ts';
import { InsideView } from './insideView.ts';
import { ExperimentsView } from './experimentsView.ts';
import { TourView, type Concept, type TrainingLog } from './tourView.ts';
import { placeOf } from './tourPlaces.ts';
import type { ToolHost } from './toolHost.ts';

export class App {
  private readonly ui: Layout;
  private readonly client = new EngineClient();
  private readonly panel: StepPanel;
  private readonly picker: ModelPicker;
  private readonly lens: LensView;
  private readonly inside: InsideView;
  private readonly experiments: ExperimentsView;
  private readonly tour: TourView;
  private source: ModelSource | null = null;
  private logFor: { url: string; log: Promise<TrainingLog | null> } | null = null;
  private toolBusy = false;
  private setup: Setup;
  private model: ModelInfo | null = null;
  private backendName = '';
  private readonly transcript: Transcript;
  private running: Run | null = null;
  private lastPerf: { tokensPerSec: number | null; ttftMs: number; stop: GenerationSummary['stopReason'] } | null = null;
  private loading = false;
  private runStart = 0;
  private firstTokenAt = 0;

  constructor(root: HTMLElement, embeddedUrl: string) {
    this.ui = buildLayout(root);
    this.transcript = new Transcript(this.ui, (run, step) => this.select(run, step, true));
    this.picker = new ModelPicker(embeddedUrl, {
      load: (source, choice) => void this.loadModel(source, choice),
      listCache: () => this.client.cachedModels(),
      removeCache: () => this.client.removeCachedModels(),
    });
    this.ui.modelSlot.append(this.picker.element);
    this.ui.backend.textContent = tr().starting;
    // What every tool view may ask of the app: whether the engine is free, to hold it, to report an error.
    const host: ToolHost = {
      canRun: () => this.ready(),
      setBusy: (b) => {
        this.toolBusy = b;
        this.refreshBusy();
      },
      error: (m) => this.error(m),
    };
    this.lens = new LensView(this.client, { ...host, temperature: () => this.setup.temperature });
    this.inside = new InsideView(this.client, host);
    const experiments = new ExperimentsView(this.client, {
      ...host,
      promptSetup: async () => {
        this.readControls();
        if (!this.setup.prompt.trim()) throw new Error(tr().promptEmptyAbove);
        const promptIds = (await this.client.tokenize(this.setup.prompt)).map((t) => t.id);
        return { promptIds, seed: this.setup.seed, maxTokens: this.setup.maxTokens };
      },
    });
    root.append(this.inside.element, experiments.element, this.lens.element);
    this.experiments = experiments;
    this.tour = new TourView({ show: (c) => this.tourShow(c), trainingLog: () => this.trainingLog(), error: (m) => this.error(m) });
    this.ui.language.before(this.tour.openButton);
    root.append(this.tour.element);
    this.ui.language.addEventListener('change', () => setLang(this.ui.language.value as Lang));
    onLangChange(() => this.relabel());
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
    this.ui.progressText.textContent = tr().loadingSource(describeSource(source));
    this.picker.setBusy(true);
    this.loading = true;
    this.refreshBusy();
    const backends = new URLSearchParams(location.search).get('backend')?.split(',');
    try {
      const r = await this.client.load(source, backends);
      const switched = this.model !== null;
      this.source = source;
      this.model = r.model;
      this.backendName = r.backend.backend;
      this.ui.backend.textContent = r.backend.description;
      this.renderStatus();
      this.ui.loadBox.hidden = true;
      if (switched) {
        // Token ids belong to one tokenizer: the previous model's runs cannot be continued by this one.
        this.transcript.reset();
        this.renderAll();
      }
      if (choice !== null) history.replaceState(null, '', modelQuery(location.search, source, choice));
      await this.lens.refresh();
      this.inside.setModel(r.model.nLayer, r.model.nHead);
      document.body.dataset.ready = 'true';
      document.body.dataset.model = r.model.name;
      if (warning) this.error(warning);
      void this.showPromptTokens();
    } catch (e) {
      this.ui.progressText.textContent = this.model ? tr().stillUsing(this.model.name) : tr().couldNotLoad;
      this.error(tr().loadFailed(describeSource(source), (e as Error).message));
    } finally {
      this.loading = false;
      this.picker.setBusy(false);
      this.refreshBusy();
    }
  }

  private showProgress(p: LoadProgressMsg): void {
    const total = p.overallTotal ?? p.total;
    if (total) this.ui.progress.value = (p.overallTotal ? p.overallLoaded : p.loaded) / total;
    this.ui.progressText.textContent = progressLine(p, tr());
  }

  private get settings(): SamplingSettings {
    return { temperature: this.setup.temperature, topK: this.setup.topK, topP: this.setup.topP };
  }

  // ---------- controls ----------
  private showSetup(): void {
    showSetup(this.ui, this.setup);
    this.setMode(this.setup.mode);
  }

  private readControls(): void {
    this.setup = readSetupFromControls(this.ui, this.setup, this.model?.vocabSize ?? 1e6, (m) => this.error(m));
    history.replaceState(null, '', writeSetup(this.setup, new URLSearchParams(location.search)));
    if (this.client.busy) this.client.updateSettings(this.settings, this.setup.delayMs); // takes effect from the next token
    this.renderPanel();
  }

  private setMode(mode: Setup['mode']): void {
    this.setup.mode = mode;
    this.ui.completeBtn.setAttribute('aria-pressed', String(mode === 'complete'));
    this.ui.chatBtn.setAttribute('aria-pressed', String(mode === 'chat'));
    this.ui.completeBox.hidden = mode !== 'complete';
    this.ui.chatBox.hidden = mode !== 'chat';
    this.transcript.selected = null;
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
      this.transcript.chat = [];
      this.transcript.selected = null;
      this.renderAll();
    });
    u.continueBtn.addEventListener('click', () => void this.continueFromHere());
    u.branches.addEventListener('change', () => {
      this.transcript.current = Number(u.branches.value);
      this.transcript.selected = null;
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
    u.copyLink.addEventListener('click', () => void navigator.clipboard?.writeText(location.href).catch(() => this.error(tr().clipboard)));
    u.exportRun.addEventListener('click', () => this.exportRun());
    u.exportChart.addEventListener('click', () => {
      const png = this.panel.image();
      if (png) download('nexttoken-step.png', png);
      else this.error(tr().noChart);
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
    if (!text.trim()) return this.error(tr().promptEmpty);
    try {
      const promptIds = (await this.client.tokenize(text)).map((t) => t.id);
      const cur = this.transcript.currentBranch;
      const sameRun = single && cur && sameIds(cur.promptIds, promptIds) && cur.summary?.stopReason !== 'eos' && cur.summary?.stopReason !== 'contextFull';
      const run: Run = sameRun ? cur : { promptIds, steps: [], seed: this.seedForRun(), label: { n: this.transcript.branches.length + 1, from: null } };
      if (!sameRun) this.transcript.addBranch(run);
      this.startRun(run, single ? 1 : this.setup.maxTokens);
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  private async send(): Promise<void> {
    if (!this.ready()) return;
    this.readControls();
    const user = this.ui.message.value;
    if (!user.trim()) return this.error(tr().messageEmpty);
    try {
      const messages = this.transcript.chat.flatMap((t) => [
        { role: 'user' as const, content: t.user },
        { role: 'assistant' as const, content: t.run.text ?? '' },
      ]);
      messages.push({ role: 'user', content: user });
      const text = await this.client.chatPrompt(messages);
      const views = await this.client.tokenize(text);
      const promptIds = views.map((t) => t.id);
      this.renderPromptTokens(views);
      if (promptIds.length >= (this.model?.contextLength ?? Infinity)) {
        return this.error(tr().conversationTooLong(promptIds.length, this.model?.contextLength ?? 0));
      }
      const turn: ChatTurn = { user, run: { promptIds, steps: [], seed: this.seedForRun(), label: { n: 0, from: null } } };
      this.transcript.chat.push(turn);
      this.ui.message.value = '';
      this.startRun(turn.run, this.setup.maxTokens, () => {
        // Nothing is lost: the message goes back into the box, the failed turn is dropped.
        this.transcript.chat.pop();
        this.ui.message.value = user;
      });
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** Branch: the picked candidate replaces the token at the selected step; generation goes on from there. */
  private async continueFromHere(): Promise<void> {
    const sel = this.transcript.selected;
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
    const run: Run = { promptIds: sel.run.promptIds, steps: [...sel.run.steps.slice(0, sel.step), forced], seed: sel.run.seed, label: { n: this.transcript.branches.length + 1, from: sel.step + 1 } };
    if (this.setup.mode === 'chat') {
      const turn = this.transcript.chat.find((t) => t.run === sel.run);
      if (!turn) return;
      turn.run = run;
    } else {
      this.transcript.addBranch(run);
    }
    this.transcript.selected = { run, step: sel.step };
    this.startRun(run, Math.max(1, this.setup.maxTokens - run.steps.length));
  }

  private startRun(run: Run, maxTokens: number, onError?: () => void): void {
    const ids = [...run.promptIds, ...run.steps.map((s) => s.id)];
    const drawsUsed = run.steps.filter((s) => s.draw !== null).length;
    const eos = this.model?.eosIds ?? [];
    if (run.steps.length && eos.includes(run.steps[run.steps.length - 1].id)) return this.error(tr().alreadyEnded);
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
        if (!this.transcript.appendToken(run, run.steps.length - 1)) this.renderOutput();
        const sel = this.transcript.selected;
        if (!sel || sel.run !== run || this.panelFollows) this.select(run, run.steps.length - 1, false);
      },
      onDone: (summary) => {
        run.summary = summary;
        this.running = null;
        const ttft = this.firstTokenAt ? this.firstTokenAt - this.runStart : 0;
        this.lastPerf = { tokensPerSec: summary.msPerToken > 0 ? 1000 / summary.msPerToken : null, ttftMs: ttft, stop: summary.stopReason };
        this.renderStatus();
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
    const sel = this.transcript.selected;
    return !!sel && sel.run === this.running && sel.step >= this.running.steps.length - 2;
  }

  private ready(): boolean {
    if (!this.model || this.loading) {
      this.error(tr().stillLoading);
      return false;
    }
    if (this.client.busy) {
      this.error(tr().stillGenerating);
      return false;
    }
    if (this.toolBusy) {
      this.error(tr().busyElsewhere);
      return false;
    }
    return true;
  }

  private exportRun(): void {
    const runs = this.transcript.runsToExport(this.setup.mode);
    if (!runs.length) return this.error(tr().nothingToExport);
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
    const busy = this.client.busy || this.loading || this.toolBusy;
    const u = this.ui;
    u.stop.disabled = !this.client.busy;
    u.generate.disabled = busy || !this.model;
    u.nextToken.disabled = busy || !this.model;
    u.send.disabled = busy || !this.model;
    u.continueBtn.disabled = busy || this.panel.pickedId === null;
    document.body.dataset.busy = String(busy);
  }

  private select(run: Run, step: number, byUser: boolean): void {
    this.transcript.selected = { run, step };
    if (byUser) this.ui.continueBtn.disabled = true;
    this.transcript.renderSelection(this.setup.mode);
    this.renderPanel();
  }

  private renderAll(): void {
    this.renderBranches();
    this.renderOutput();
    this.renderPanel();
  }

  private renderBranches(): void {
    this.transcript.renderBranches(this.setup.mode);
  }

  private renderOutput(): void {
    this.transcript.renderOutput(this.setup.mode, this.setup.prompt);
  }

  private renderPanel(): void {
    const s = this.transcript.selected;
    const record = s ? (s.run.steps[s.step] ?? null) : null;
    this.inside.setStep(s && record ? [...s.run.promptIds, ...s.run.steps.slice(0, s.step).map((x) => x.id)] : null, record);
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
    clear(this.ui.promptTokens);
    this.ui.promptTokens.append(...promptChips(views));
  }

  // ---------- the guided tour's "Show me" ----------
  private tourShow(c: Concept): Promise<HTMLElement | null> {
    return placeOf(c, {
      ui: this.ui,
      inside: this.inside,
      lens: this.lens,
      experiments: this.experiments,
      completeMode: () => this.setup.mode !== 'complete' && this.setMode('complete'),
      ensureStep: () => this.ensureStep(),
    });
  }

  /** A selected step to show: generates once if nothing has been generated yet. */
  private async ensureStep(): Promise<void> {
    if (this.setup.mode !== 'complete') this.setMode('complete');
    if (!this.transcript.currentBranch?.steps.length) {
      await this.generate(false);
      while (this.client.busy) await new Promise((r) => setTimeout(r, 50));
    }
    const run = this.transcript.currentBranch;
    if (!run?.steps.length) throw new Error(tr().nothingToExport);
    if (!this.transcript.selected) this.select(run, 0, true);
  }

  /** The loaded model's training log (only the embedded model has one): fetched once per model. */
  private trainingLog(): Promise<TrainingLog | null> {
    const s = this.source;
    if (!s || s.kind !== 'url') return Promise.resolve(null);
    if (this.logFor?.url !== s.url) {
      const log = fetch(s.url.replace(/\/?$/, '/') + 'training_log.json')
        .then((res) => (res.ok ? (res.json() as Promise<TrainingLog>) : null))
        .catch(() => {
          this.logFor = null; // not remembered: the next card asks again
          return null;
        });
      this.logFor = { url: s.url, log };
    }
    return this.logFor.log;
  }


  /** The status line: model, backend (the engine's own words), and the last run's speed. */
  private renderStatus(): void {
    const m = this.model;
    if (m) this.ui.modelInfo.textContent = tr().modelInfo({ name: m.name, params: (m.params / 1e6).toFixed(2), mb: (m.weightBytes / 1e6).toFixed(1), context: m.contextLength });
    const p = this.lastPerf;
    if (p) this.ui.perf.textContent = tr().perf(p.tokensPerSec === null ? '–' : tr().tokensPerSec(p.tokensPerSec.toFixed(1)), Math.round(p.ttftMs), describeStop(p.stop));
  }

  /** After a language switch: everything drawn from state is drawn again, in the new language. */
  private relabel(): void {
    if (!this.model) this.ui.backend.textContent = tr().starting;
    this.renderStatus();
    showSetup(this.ui, this.setup);
    this.renderAll();
    if (this.model) void this.showPromptTokens();
    this.clearError(); // a message in the old language would be the one English line left on the page
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
  return tr().stopReasons[r];
}
