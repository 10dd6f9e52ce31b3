// The app: owns the one AppState, turns learners' actions into named state changes and engine jobs,
// and renders everything from the state through one path (render). Talks to the engine only through
// the worker client; knows nothing of TF.js.
import type { GenerationSummary, StepRecord } from '../engine/generate.ts';
import type { ChatMessage } from '../engine/tokenizer.ts';
import { randomSeed as newRandomSeed } from '../sampling/prng.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { describeChoice } from '../sampling/step.ts';
import type { LoadProgressMsg, ModelSource } from '../worker/protocol.ts';
import { wireControls } from './controls.ts';
import { download } from './dom.ts';
import { EngineClient } from './engineClient.ts';
import { ExperimentsView } from './experimentsView.ts';
import { onLangChange, setLang, t as tr, type Lang } from './i18n/index.ts';
import { InsideView } from './insideView.ts';
import { buildLayout, type Layout } from './layout.ts';
import { LensView } from './lensView.ts';
import { ModelPicker } from './modelPicker.ts';
import { describeSource, EMBEDDED_ID, modelQuery, progressLine } from './models.ts';
import { OutputView } from './outputView.ts';
import { renderChrome } from './render.ts';
import { allIds, busy, contextIds, conversationOf, ended, initialState, reduce, runById, shownRun, type Action, type AppState, type Run, type Turn } from './state.ts';
import { StepPanel } from './stepPanel.ts';
import type { ToolHost } from './toolHost.ts';
import { placeOf } from './tourPlaces.ts';
import { TourView, type Concept, type TrainingLog } from './tourView.ts';
import { readSetup, writeSetup } from './urlState.ts';

export class App {
  private state: AppState;
  private readonly ui: Layout;
  private readonly client = new EngineClient();
  private readonly output: OutputView;
  private readonly panel: StepPanel;
  private readonly picker: ModelPicker;
  private readonly lens: LensView;
  private readonly inside: InsideView;
  private readonly experiments: ExperimentsView;
  private readonly tour: TourView;
  private source: ModelSource | null = null;
  private logFor: { url: string; log: Promise<TrainingLog | null> } | null = null;
  private renderQueued = false;
  private idleWaiters: (() => void)[] = [];
  private readonly labelsAsked = new Set<number>();
  private runClock = { start: 0, first: 0, scrolled: true };

  constructor(
    root: HTMLElement,
    private readonly embeddedUrl: string,
  ) {
    const { setup, corrections } = readSetup(location.search);
    this.state = initialState(setup);
    this.ui = buildLayout(root);
    if (corrections.length) {
      const d = tr();
      this.dispatch({ type: 'noticeAdded', text: d.corrected(corrections.map((c) => d.correctedItem(c.key, c.given, c.used, d.urlRules[c.key] ?? '')).join('; ')) });
    }
    this.output = new OutputView(this.ui, { select: (runId, step) => this.dispatch({ type: 'stepSelected', runId, step }), showRun: (runId) => this.dispatch({ type: 'runShown', runId }) });
    this.panel = new StepPanel(this.ui.stepPanel, { onPick: (id) => this.dispatch({ type: 'candidatePicked', id }), needLabels: (ids) => void this.learnLabels(ids) });
    this.picker = new ModelPicker(embeddedUrl, {
      load: (source, choice) => void this.loadModel(source, choice),
      listCache: () => this.client.cachedModels(),
      removeCache: () => this.client.removeCachedModels(),
    });
    this.ui.modelSlot.append(this.picker.element);
    // What every tool view may ask of the app: whether the engine is free, to hold it, to report an error.
    const host: ToolHost = {
      canRun: () => !busy(this.state) && this.state.model !== null,
      setBusy: (b) => this.dispatch(b ? { type: 'jobStarted', job: { kind: 'tool' } } : { type: 'jobEnded' }),
      error: (m) => this.showError(m),
    };
    this.lens = new LensView(this.client, { ...host, temperature: () => this.state.setup.temperature });
    this.inside = new InsideView(this.client, host);
    this.experiments = new ExperimentsView(this.client, {
      ...host,
      promptSetup: async () => {
        const { prompt, seed, maxTokens } = this.state.setup;
        if (!prompt.trim()) throw new Error(tr().promptEmptyAbove);
        return { promptIds: (await this.client.tokenize(prompt)).map((x) => x.id), seed, maxTokens, prompt };
      },
    });
    root.append(this.inside.element, this.experiments.element, this.lens.element);
    this.tour = new TourView({ show: (c) => this.tourShow(c), trainingLog: () => this.trainingLog(), error: (m) => this.showError(m) });
    this.ui.language.before(this.tour.openButton);
    root.append(this.tour.element);
    this.ui.language.addEventListener('change', () => setLang(this.ui.language.value as Lang));
    onLangChange(() => {
      this.output.invalidate();
      this.dispatch({ type: 'messageShown', message: null }); // a message in the old language would be the one line left in it
    });
    wireControls(this.ui, {
      state: () => this.state,
      dispatch: (a) => this.dispatch(a),
      error: (m) => this.showError(m),
      generate: (single) => void this.generate(single),
      send: () => void this.send(),
      stop: () => this.stop(),
      setMode: (mode) => this.setMode(mode),
      continueFromHere: () => void this.continueFromHere(),
      exportRun: () => this.exportRun(),
      exportChart: () => {
        const png = this.panel.image();
        if (png) download('nexttoken-step.png', png);
        else this.showError(tr().noChart);
      },
      promptTyped: () => void this.showPromptTokens(),
    });
    this.render();
  }

  start(source: ModelSource): Promise<void> {
    this.picker.show(source);
    return this.loadModel(source, null);
  }

  // ---------- the one way state changes, and the one render path ----------

  private dispatch(a: Action): void {
    const before = this.state;
    this.state = reduce(before, a);
    if (a.type === 'setupChanged' || a.type === 'modeSet') history.replaceState(null, '', writeSetup(this.state.setup, new URLSearchParams(location.search)));
    if (a.type === 'setupChanged' && this.state.job.kind === 'generate') this.client.updateSettings(this.settings, this.state.setup.delayMs); // from the next token
    if (before.job.kind !== 'idle' && this.state.job.kind === 'idle') for (const w of this.idleWaiters.splice(0)) w();
    // Batched: several actions in one handler render once, before the browser paints.
    if (!this.renderQueued) {
      this.renderQueued = true;
      queueMicrotask(() => {
        this.renderQueued = false;
        this.render();
      });
    }
  }

  private render(): void {
    const s = this.state;
    renderChrome(this.ui, s, this.source);
    this.output.render(s, s.model?.eosIds ?? []);
    const sel = s.selected;
    const run = runById(s, sel?.runId);
    const record = run && sel ? (run.steps[sel.step] ?? null) : null;
    this.inside.setStep(run && record ? contextIds(run, sel!.step) : null, record);
    const wide = window.matchMedia?.('(min-width: 900px)').matches ?? true;
    this.panel.render(record ? { record, settings: this.settings, picked: s.picked, labels: s.labels, topN: wide ? 15 : 10 } : null);
    const reason = this.busyReason();
    this.lens.setBlocked(reason);
    this.inside.setBlocked(reason);
    this.experiments.setBlocked(reason);
    this.picker.setBusy(s.job.kind !== 'idle');
    this.afterRender();
  }

  /** Effects of a render: bring a new run's first token into view (on a phone the output is below the controls). */
  private afterRender(): void {
    if (this.runClock.scrolled) return;
    const first = this.output.firstLiveToken();
    if (!first) return;
    this.runClock.scrolled = true;
    const r = first.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) first.scrollIntoView({ block: 'center', behavior: 'instant' as ScrollBehavior });
  }

  private busyReason(): string | null {
    const j = this.state.job;
    if (!this.state.model) return tr().stillLoading;
    return j.kind === 'idle' ? null : tr().busyReason[j.kind];
  }

  private get settings(): SamplingSettings {
    const s = this.state.setup;
    return { temperature: s.temperature, topK: s.topK, topP: s.topP };
  }

  private showError(text: string): void {
    this.dispatch({ type: 'messageShown', message: { kind: 'error', text } });
  }

  private whenIdle(): Promise<void> {
    return busy(this.state) ? new Promise((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  // ---------- models ----------

  /**
   * Loads a model in the worker. A running generation is stopped first. If loading fails, the current
   * model, runs, prompt, conversation and settings stay; on the very first load the embedded model is
   * loaded instead, so the app always ends with a working model.
   */
  private async loadModel(source: ModelSource, choice: string | null): Promise<void> {
    if (this.state.job.kind === 'generate') this.stop();
    await this.whenIdle();
    const ui = this.ui;
    this.client.onProgress = (p: LoadProgressMsg) => {
      const total = p.overallTotal ?? p.total;
      if (total) ui.progress.value = (p.overallTotal ? p.overallLoaded : p.loaded) / total;
      ui.progressText.textContent = progressLine(p, tr());
    };
    let warning = '';
    this.client.onWarning = (message) => (warning = message);
    ui.loadBox.hidden = false;
    ui.progress.value = 0;
    ui.progressText.textContent = tr().loadingSource(describeSource(source));
    this.dispatch({ type: 'jobStarted', job: { kind: 'load' } });
    const backends = new URLSearchParams(location.search).get('backend')?.split(',');
    try {
      const r = await this.client.load(source, backends);
      const first = this.state.model === null;
      this.source = source;
      this.dispatch({ type: 'modelLoaded', model: r.model, backend: r.backend, keepRuns: first });
      this.labelsAsked.clear();
      ui.loadBox.hidden = true;
      if (choice !== null) history.replaceState(null, '', modelQuery(location.search, source, choice));
      this.picker.show(source);
      await this.lens.refresh();
      this.inside.setModel(r.model.nLayer, r.model.nHead);
      document.body.dataset.model = r.model.name;
      if (warning) this.showError(warning);
      this.dispatch({ type: 'jobEnded' });
      document.body.dataset.ready = 'true';
      void this.showPromptTokens();
    } catch (e) {
      this.dispatch({ type: 'jobEnded' });
      const why = tr().loadFailed(describeSource(source), (e as Error).message);
      const embedded: ModelSource = { kind: 'url', url: this.embeddedUrl };
      if (!this.state.model && !(source.kind === 'url' && source.url === this.embeddedUrl)) {
        ui.progressText.textContent = why;
        await this.loadModel(embedded, EMBEDDED_ID);
        this.showError(why + tr().fellBack((this.state as AppState).model?.name ?? 'nexttoken'));
        return;
      }
      ui.progressText.textContent = this.state.model ? tr().stillUsing(this.state.model.name) : tr().couldNotLoad;
      this.showError(why);
    }
  }

  // ---------- generation ----------

  private setMode(mode: AppState['setup']['mode']): void {
    if (mode === this.state.setup.mode) return;
    if (this.state.job.kind === 'generate') this.stop(); // a run is never left going where it cannot be seen
    this.dispatch({ type: 'modeSet', mode });
  }

  private stop(): void {
    if (this.state.job.kind !== 'generate') return;
    this.dispatch({ type: 'stopRequested' });
    this.client.stop();
  }

  private seedForRun(): number {
    const s = this.state.setup;
    if (!s.randomSeed) return s.seed;
    const seed = newRandomSeed();
    this.dispatch({ type: 'setupChanged', patch: { seed } });
    return seed;
  }

  /** Claims the engine for a generation at once (the busy state shows before any await); false if it is taken. */
  private claim(): boolean {
    if (!this.state.model) {
      this.showError(tr().stillLoading);
      return false;
    }
    if (busy(this.state)) return false; // a second click or a held key: the first one is being answered
    this.dispatch({ type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    return true;
  }

  private release(message?: string): void {
    this.dispatch({ type: 'jobEnded' });
    if (message) this.showError(message);
  }

  private async generate(single: boolean): Promise<void> {
    const text = this.state.setup.prompt;
    if (!text.trim()) return this.showError(tr().promptEmpty);
    if (!this.claim()) return;
    try {
      const promptIds = (await this.client.tokenize(text)).map((x) => x.id);
      const ctx = this.state.model!.contextLength;
      if (promptIds.length >= ctx) return this.release(tr().promptTooLong(promptIds.length, ctx)); // refused: no run
      if (this.jobStopped()) return this.release();
      const cur = runById(this.state, this.state.shown.complete);
      if (single && cur && sameIds(cur.promptIds, promptIds) && !ended(cur)) return this.startRun(cur, 1);
      const run = this.createRun({ mode: 'complete', prompt: text, history: [], dropped: [], promptIds, seed: this.seedForRun(), settings: this.settings, parent: null });
      this.startRun(run, single ? 1 : this.state.setup.maxTokens);
    } catch (e) {
      this.release((e as Error).message);
    }
  }

  private async send(): Promise<void> {
    const user = this.state.setup.message;
    if (!user.trim()) return this.showError(tr().messageEmpty);
    if (!this.claim()) return;
    try {
      const prev = runById(this.state, this.state.shown.chat);
      const history: Turn[] = prev ? conversationOf(prev) : [];
      const dropped: Turn[] = prev ? [...prev.dropped] : [];
      const ctx = this.state.model!.contextLength;
      // Room for the reply; the oldest turns are left out (with a notice) rather than the reply cut short.
      const room = Math.min(this.state.setup.maxTokens, Math.floor(ctx / 4));
      let promptIds = await this.chatIds(history, user);
      let newlyDropped = 0;
      while (promptIds.length + room > ctx && history.length) {
        dropped.push(history.shift()!);
        newlyDropped++;
        promptIds = await this.chatIds(history, user);
      }
      if (promptIds.length >= ctx) return this.release(tr().conversationTooLong(promptIds.length, ctx));
      if (this.jobStopped()) return this.release();
      const run = this.createRun({ mode: 'chat', prompt: user, history, dropped, promptIds, seed: this.seedForRun(), settings: this.settings, parent: null });
      this.dispatch({ type: 'setupChanged', patch: { message: '' } }); // the message is now part of the conversation
      if (newlyDropped) this.dispatch({ type: 'messageShown', message: { kind: 'notice', text: tr().turnsDropped(dropped.length, ctx) } });
      this.startRun(run, this.state.setup.maxTokens, () => this.dispatch({ type: 'setupChanged', patch: { message: user } }));
    } catch (e) {
      this.release((e as Error).message);
    }
  }

  /** The token ids of the chat template applied to exactly these turns and the new message. */
  private async chatIds(history: Turn[], user: string): Promise<number[]> {
    const messages: ChatMessage[] = history.flatMap((turn) => [
      { role: 'user' as const, content: turn.user },
      { role: 'assistant' as const, content: runById(this.state, turn.runId)?.reply ?? '' },
    ]);
    messages.push({ role: 'user', content: user });
    const views = await this.client.tokenize(await this.client.chatPrompt(messages));
    this.ui.promptTokensView(views);
    return views.map((v) => v.id);
  }

  /** Branch: the picked candidate replaces the token at the selected step of the selected run; the new run goes on from there. */
  private async continueFromHere(): Promise<void> {
    const { selected: sel, picked } = this.state;
    const run = runById(this.state, sel?.runId);
    const base = run && sel ? run.steps[sel.step] : undefined;
    if (!run || !sel || !base?.logits || picked === null) return;
    if (!this.claim()) return;
    try {
      const label = base.top.find((c) => c.id === picked)?.token ?? this.state.labels[picked] ?? (await this.client.labels([picked]))[0].label;
      const forced: StepRecord = { ...describeChoice(base.logits, base.settings, picked), step: sel.step, position: base.position, token: label, top: base.top, settings: base.settings, logits: base.logits };
      const branch = this.createRun({
        ...run,
        settings: this.settings,
        steps: [...run.steps.slice(0, sel.step), forced],
        parent: { runId: run.id, step: sel.step, pickedId: picked, pickedToken: label, replacedToken: base.token },
      });
      if (this.state.model!.eosIds.includes(picked)) return this.finishRun(branch, null);
      this.startRun(branch, Math.max(1, this.state.setup.maxTokens - branch.steps.length));
    } catch (e) {
      this.release((e as Error).message);
    }
  }

  private createRun(run: Omit<Run, 'id' | 'steps' | 'summary' | 'reply'> & { steps?: StepRecord[] }): Run {
    this.dispatch({ type: 'runCreated', run });
    return this.state.runs[this.state.runs.length - 1];
  }

  private jobStopped(): boolean {
    return this.state.job.kind === 'generate' && this.state.job.stopping;
  }

  /** Runs the engine on the run's own tokens (never the text boxes) and streams its steps into the state. */
  private startRun(run: Run, maxTokens: number, onError?: () => void): void {
    const drawsUsed = run.steps.filter((s) => s.draw !== null).length;
    this.runClock = { start: performance.now(), first: 0, scrolled: false };
    this.client.generate(allIds(run), this.settings, run.seed, drawsUsed, maxTokens, this.state.setup.delayMs, run.mode === 'chat', {
      onStep: (record) => {
        if (!this.runClock.first) this.runClock.first = performance.now();
        this.dispatch({ type: 'stepAdded', runId: run.id, record });
      },
      onDone: (summary) => void this.finishRun(run, summary),
      onError: (message) => {
        onError?.();
        this.dispatch({ type: 'runEnded', runId: run.id, summary: null, perf: null });
        this.release(message);
        document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
      },
    });
  }

  private async finishRun(run: Run, summary: GenerationSummary | null): Promise<void> {
    const c = this.runClock;
    const perf = summary ? { tokensPerSec: summary.msPerToken > 0 ? 1000 / summary.msPerToken : null, ttftMs: c.first ? c.first - c.start : 0, stop: summary.stopReason } : null;
    this.dispatch({ type: 'runEnded', runId: run.id, summary, perf });
    if (run.mode === 'chat') {
      // The reply as later turns will give it back to the model: decoded, special tokens left out, trimmed.
      const steps = runById(this.state, run.id)!.steps;
      const text = await this.client.decode(steps.map((s) => s.id)).catch(() => '');
      this.dispatch({ type: 'replyDecoded', runId: run.id, text: text.trim() });
    }
    this.release();
    document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1); // for scripts: a run ended
  }

  private exportRun(): void {
    const s = this.state;
    const run = shownRun(s);
    if (!run) return this.showError(tr().nothingToExport);
    const runs = run.mode === 'chat' ? conversationOf(run).map((turn) => runById(s, turn.runId)!) : [run];
    const data = {
      model: s.model?.name,
      backend: s.backend?.backend,
      setup: s.setup,
      runs: runs.map((r) => ({ id: r.id, prompt: r.prompt, promptIds: r.promptIds, seed: r.seed, parent: r.parent, summary: r.summary, steps: r.steps.map(({ logits: _omit, ...rest }) => rest) })),
    };
    download('nexttoken-run.json', URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' })));
  }

  /** Token labels the panel asked for (e.g. what other settings would draw), fetched once. */
  private async learnLabels(ids: number[]): Promise<void> {
    // Asked once per id: the panel redraws while an answer is on its way, and a failed look-up must not loop.
    const want = ids.filter((id) => !(id in this.state.labels) && !this.labelsAsked.has(id));
    if (!want.length || !this.state.model) return;
    for (const id of want) this.labelsAsked.add(id);
    const views = await this.client.labels(want).catch(() => []);
    if (views.length) this.dispatch({ type: 'labelsLearned', labels: Object.fromEntries(views.map((v) => [v.id, v.label])) });
  }

  private async showPromptTokens(): Promise<void> {
    if (!this.state.model || this.state.setup.mode === 'chat') return;
    try {
      this.ui.promptTokensView(await this.client.tokenize(this.state.setup.prompt));
    } catch (e) {
      this.showError((e as Error).message);
    }
  }

  // ---------- the guided tour's "Show me" ----------

  private tourShow(c: Concept): Promise<HTMLElement | null> {
    return placeOf(c, {
      ui: this.ui,
      inside: this.inside,
      lens: this.lens,
      experiments: this.experiments,
      completeMode: () => this.setMode('complete'),
      ensureStep: () => this.ensureStep(),
    });
  }

  /** A selected step to show: generates once if nothing has been generated yet. */
  private async ensureStep(): Promise<void> {
    this.setMode('complete');
    await this.whenIdle();
    if (!shownRun(this.state)?.steps.length) {
      await this.generate(false);
      await this.whenIdle();
    }
    const run = shownRun(this.state);
    if (!run?.steps.length) throw new Error(tr().nothingToExport);
    if (!this.state.selected) this.dispatch({ type: 'stepSelected', runId: run.id, step: 0 });
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
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
