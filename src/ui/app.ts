// The app: owns the one AppState, turns learners' actions into named state changes and engine jobs,
// and renders everything from the state through one path (render). Talks to the engine only through
// the worker client; knows nothing of TF.js.
import { pickSampling, type SamplingSettings } from '../sampling/stages.ts';
import { SLOW_MOTION_MS, type FaultHook, type ModelInfo, type ModelSource, type TokenView } from '../worker/protocol.ts';
import { wireControls } from './controls.ts';
import { EngineClient } from './engineClient.ts';
import { lang, onLangChange, setLang, t as tr, type Lang } from './i18n/index.ts';
import { download } from './dom.ts';
import { buildLayout, type Layout } from './layout.ts';
import { conversationOf, stepContextOf } from './views/finetuneView.ts';
import { ModelPicker } from './views/modelPicker.ts';
import { siblingOf, type EmbeddedUrls } from './models.ts';
import { OutputView } from './views/outputView.ts';
import { renderChrome } from './render.ts';
import { Runs } from './runs.ts';
import { TokenTree } from './views/tokenTree.ts';
import { LearnerTools } from './learnerTools.ts';
import { busy, contextIds, initialState, reduce, runById, runExport, shownRun, type Action, type AppState } from './state.ts';
import { pickGuessPrompts } from './guessGame.ts';
import { topIds } from '../sampling/topColumns.ts';
import { StepData } from './stepData.ts';
import { StepPanel } from './views/stepPanel.ts';
import { ToolViews } from './toolViews.ts';
import { ModelPicture } from './views/modelPicture.ts';
import type { ModelShape } from './views/architectureView.ts';
import { placeOf } from './tourPlaces.ts';
import { TourView, type Concept } from './views/tourView.ts';
import { TrainingLogs } from './trainingLog.ts';
import { DEFAULT_PROMPTS, readSetup, STORY_PROMPT, writeSetup } from './urlState.ts';
import { promptCoverage } from './coverage.ts';
import { keepModelsOffline, watchForUpdate, whenControlled, type OfflineSetup } from '../offline.ts';
import { RunKeeper } from './runKeeper.ts';
import { ModelLoading } from './modelLoading.ts';

/**
 * Up to this size a selected step is inspected by itself, so the picture has its numbers: the embedded 3.5M model
 * (a quiet job a learner's run may start over). Larger models inspect on request (Look inside this step).
 */
const AUTO_INSPECT_PARAMS = 30e6;

export class App {
  private state: AppState;
  private readonly ui: Layout;
  private readonly client: EngineClient;
  private readonly output: OutputView;
  private readonly tokenTree: TokenTree;
  private readonly learner: LearnerTools;
  private readonly panel: StepPanel;
  private readonly picker: ModelPicker;
  private readonly tools: ToolViews;
  private readonly picture: ModelPicture;
  private shape: { of: ModelInfo; shape: ModelShape } | null = null;
  private readonly tour: TourView;
  private readonly logs = new TrainingLogs();
  private renderQueued = false;
  private idleWaiters: (() => void)[] = [];
  private readonly runs: Runs;
  private readonly keeper: RunKeeper;
  private readonly models: ModelLoading;
  private readonly stepData: StepData;

  constructor(
    root: HTMLElement,
    private readonly embedded: EmbeddedUrls,
    private readonly offline: OfflineSetup,
  ) {
    const params = new URLSearchParams(location.search);
    // ?testHooks: tests may shorten the engine's timeouts and make the worker fail on purpose.
    const testHooks = params.has('testHooks');
    this.client = new EngineClient(testHooks ? Number(params.get('timeoutScale') ?? 1) : 1, testHooks);
    if (testHooks) (window as Window & { nexttokenFault?: (h: FaultHook) => void }).nexttokenFault = (h) => this.client.fault(h);
    this.stepData = new StepData({ state: () => this.state, dispatch: (a) => this.dispatch(a), client: this.client, showError: (m) => this.showError(m) });
    this.client.onBackendChanged = (backend, why) => {
      this.dispatch({ type: 'backendChanged', backend });
      this.dispatch({ type: 'noticeAdded', text: why });
    };
    this.client.onRestarted = (why) => void this.models.recover(why);
    // What the engine holds, for scripts and tests: the backend its model computes on, and its phase.
    this.client.onEngineState = (s) => {
      Object.assign(document.body.dataset, { engine: s.phase, engineBackend: s.backend ?? '', engineModel: s.model ?? '' });
      if (s.phase === 'loading') this.stepData.loadStarted(); // another model, or the same one again, may answer
    };
    const { setup, corrections } = readSetup(location.search, lang());
    const { isolated, reason, detail, registration } = offline;
    const models = registration ? { done: 0, total: 0, failed: [], finished: false } : null; // filled once the service worker answers
    this.state = initialState(setup, testHooks && params.has('logitsBudget') ? Number(params.get('logitsBudget')) : undefined, { isolated, reason, detail, models, updateReady: false });
    this.keeper = new RunKeeper(() => this.state, (a) => this.dispatch(a));
    this.ui = buildLayout(root);
    this.ui.clearRuns.addEventListener('click', () => void this.keeper.clear());
    if (corrections.length) {
      const d = tr();
      this.dispatch({ type: 'noticeAdded', text: d.corrected(corrections.map((c) => d.correctedItem(c.key, c.given, c.used, d.urlRules[c.key] ?? '')).join('; ')) });
    }
    this.output = new OutputView(this.ui, { select: (runId, step) => this.dispatch({ type: 'stepSelected', runId, step }), showRun: (runId) => this.dispatch({ type: 'runShown', runId }) });
    // A token of another run: that run is shown, then the step selected.
    this.tokenTree = new TokenTree((runId, step) => {
      if (shownRun(this.state)?.id !== runId) this.dispatch({ type: 'runShown', runId });
      this.dispatch({ type: 'stepSelected', runId, step });
    });
    this.ui.runBox.after(this.tokenTree.element);
    this.tokenTree.onChange = () => this.render();
    this.learner = new LearnerTools({
      state: () => this.state,
      dispatch: (a) => this.dispatch(a),
      client: this.client,
      showError: (m) => this.showError(m),
      recomputeLogits: (runId, step) => this.stepData.recomputeLogits(runId, step),
    });
    this.panel = new StepPanel(this.ui.stepPanel, { onPick: (id) => this.dispatch({ type: 'candidatePicked', id }), needLabels: (ids) => void this.stepData.learnLabels(ids), onGuess: (g) => void this.learner.guess(g), needCharacters: (context, ids) => this.client.characters(context, ids) });
    this.picker = new ModelPicker(embedded, {
      load: (source, choice) => {
        this.models.picked = true;
        void this.models.load(source, choice);
      },
      setPrecision: (dtype) => void this.models.setPrecision(dtype),
      listCache: () => this.client.cachedModels(),
      removeCache: () => this.client.removeCachedModels(),
    });
    this.ui.modelSlot.append(this.picker.element);
    this.models = new ModelLoading(
      {
        state: () => this.state,
        dispatch: (a) => this.dispatch(a),
        client: this.client,
        ui: this.ui,
        keeper: this.keeper,
        picker: this.picker,
        showError: (m) => this.showError(m),
        stopRunForLoad: () => {
          this.runs.stop('load');
          return this.whenIdle();
        },
        modelIn: async (model) => {
          this.stepData.modelIn();
          const questions = await this.tools.modelLoaded(model);
          const prompts = model.openings.length ? model.openings.map((text) => ({ lang: 'en' as const, text, story: true })) : pickGuessPrompts(questions);
          this.dispatch({ type: 'guessPromptsSet', prompts });
          // A story model given the untouched default prompt (a fact to complete) gets a story opening instead.
          const untouched = (Object.values(DEFAULT_PROMPTS) as string[]).includes(this.state.setup.prompt);
          if (model.openings.length && untouched) this.dispatch({ type: 'setupChanged', patch: { prompt: STORY_PROMPT } });
        },
        loadEnded: () => void this.showPromptTokens(),
      },
      embedded,
    );
    // What the tool views may ask of the app: whether the engine is free, to hold it, to report an error,
    // and the pieces of the state each one reads.
    this.tools = new ToolViews(this.client, {
      canRun: () => !busy(this.state) && this.state.model !== null,
      setBusy: (b, quiet) => this.dispatch(b ? { type: 'jobStarted', job: { kind: 'tool', quiet }, quiet } : { type: 'jobEnded', kind: 'tool' }),
      error: (m) => this.showError(m),
      temperature: () => this.state.setup.temperature,
      promptSetup: async () => {
        const { prompt, seed, maxTokens } = this.state.setup;
        if (!prompt.trim()) throw new Error(tr().promptEmptyAbove);
        return { promptIds: (await this.client.tokenize(prompt)).map((x) => x.id), seed, maxTokens, prompt };
      },
      settings: () => this.settings,
      trainingLog: () => this.logs.of(this.models.source),
      stepContext: () => stepContextOf(this.state),
      sibling: () => siblingOf(this.models.source, this.embedded),
      conversation: () => {
        const messages = conversationOf(this.state);
        const { seed, maxTokens } = this.state.setup;
        return messages && { messages, settings: this.settings, seed, maxTokens };
      },
    });
    root.append(...this.tools.elements);
    // The model's picture on the first screen, drawn under the output (styles.css) but after the distribution in
    // page order, so the keyboard goes token → its distribution without a stop between. Each part opens its detail.
    this.picture = new ModelPicture((part) => this.tools.inside.openPart(part));
    this.ui.outputRegion.parentElement!.append(this.picture.element);
    this.tools.inside.onInspected = () => this.render();
    this.tour = new TourView({
      show: (c) => this.tourShow(c),
      trainingLog: () => this.logs.of(this.models.source),
      measuredPatterns: () => this.tools.lens.measuredPatterns(),
      error: (m) => this.showError(m),
    });
    this.ui.language.before(this.tour.openButton);
    root.append(this.tour.element);
    this.ui.language.addEventListener('change', () => setLang(this.ui.language.value as Lang));
    onLangChange(() => {
      this.output.invalidate();
      this.dispatch({ type: 'messageShown', message: null }); // a message in the old language would be the one line left in it
    });
    this.runs = new Runs({
      state: () => this.state,
      dispatch: (a) => this.dispatch(a),
      client: this.client,
      settings: () => this.settings,
      showError: (m) => this.showError(m),
      showPromptTokens: (views, text) => this.promptTokensShown(views, text),
      recomputeLogits: (runId, step) => this.stepData.recomputeLogits(runId, step),
      inspectLayer: () => (this.autoInspects ? this.tools.inside.layer : null),
      stepInspected: (runId, step, inspection) => {
        const record = runById(this.state, runId)?.steps[step];
        if (record) this.tools.inside.accept(record, inspection);
      },
    });
    wireControls(this.ui, {
      state: () => this.state,
      dispatch: (a) => this.dispatch(a),
      error: (m) => this.showError(m),
      generate: (single) => void this.runs.generate(single),
      send: () => void this.runs.send(),
      stop: () => this.runs.stop(),
      setMode: (mode) => this.setMode(mode),
      continueFromHere: () => void this.runs.continueFromHere(),
      forceText: (text) => void this.learner.forceText(text),
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

  async start(source: ModelSource, picked: boolean): Promise<void> {
    this.models.picked = picked;
    this.picker.show(source);
    await this.models.load(source, null);
    const reg = this.offline.registration;
    if (!reg) return;
    watchForUpdate(reg, (apply) => {
      this.ui.updateReload.onclick = apply;
      this.dispatch({ type: 'offlineChanged', patch: { updateReady: true } });
    });
    // The shipped models (snapshots and the lens's facts too) are kept offline once the worker controls the page.
    await whenControlled();
    keepModelsOffline((models) => this.dispatch({ type: 'offlineChanged', patch: { models } }));
  }

  /** One shape object per model (the picture redraws when it changes). */
  private shapeOf(m: ModelInfo): ModelShape {
    if (this.shape?.of !== m) this.shape = { of: m, shape: { nLayer: m.nLayer, nHead: m.nHead, vocabSize: m.vocabSize, rotary: m.rotary } };
    return this.shape.shape;
  }

  // ---------- the one way state changes, and the one render path ----------

  private dispatch(a: Action): void {
    const before = this.state;
    this.state = reduce(before, a);
    this.keeper?.changed(a);
    if (a.type === 'setupChanged' || a.type === 'modeSet') history.replaceState(null, '', writeSetup(this.state.setup, new URLSearchParams(location.search)));
    if (a.type === 'setupChanged' && this.state.job.kind === 'generate') this.client.updateSettings(this.settings, this.state.setup.delayMs); // from the next token
    if (before.job.kind !== 'idle' && this.state.job.kind === 'idle') for (const w of this.idleWaiters.splice(0)) w();
    if (a.type === 'runsCleared') this.stepData.runsCleared(); // run ids start again from 1
    if (a.type === 'stepSelected') this.stepData.selected(a.runId, a.step);
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
    const focused = document.activeElement;
    renderChrome(this.ui, s, this.models.source);
    this.output.render(s, s.model?.eosIds ?? []);
    this.tokenTree.render(s);
    const sel = s.selected;
    const run = runById(s, sel?.runId);
    const record = run && sel ? (run.steps[sel.step] ?? null) : null;
    const hidden = !!record && s.guess.pending?.runId === run?.id && s.guess.pending?.step === sel?.step;
    // A step hidden for the guessing game is shown nowhere, inside the model included. A small model's step is
    // inspected by itself as soon as the engine is free, so the picture shows its numbers.
    // Not during a run: its job would wait for the run's end anyway, and in slow motion the run looks inside each step itself.
    const shown = hidden ? null : record;
    this.tools.inside.setStep(run && shown ? contextIds(run, sel!.step) : null, shown, this.autoInspects && s.job.kind !== 'generate');
    if (s.model) {
      // The picture names the step's top three: labels the page has not learned yet (a restored run) are asked for.
      const unnamed = shown ? topIds(shown.top).slice(0, 3).filter((id) => id !== shown.id && !(id in s.labels)) : [];
      if (unnamed.length) void this.stepData.learnLabels(unnamed);
      this.picture.show({ shape: this.shapeOf(s.model), inspection: this.tools.inside.inspectionOf(shown), record: shown, labels: s.labels, animate: s.job.kind === 'generate' && s.setup.delayMs >= SLOW_MOTION_MS, auto: this.autoInspects });
    }
    const wide = window.matchMedia?.('(min-width: 900px)').matches ?? true;
    this.panel.render(record ? { record, settings: this.settings, picked: s.picked, forced: s.forced, guess: { hidden, on: s.guess.on, rounds: s.guess.rounds }, labels: s.labels, topN: wide ? 15 : 10, context: contextIds(run!, sel!.step), waitingAhead: s.recomputeQueued?.runId === run!.id && s.recomputeQueued.step === sel!.step ? s.recomputeQueued.ahead : null, recomputeFailed: this.stepData.failed(run!.id, sel!.step) } : null);
    if (run && record && !record.logits) void this.stepData.recomputeLogits(run.id, sel!.step, true);
    void this.learner.decodePlainText();
    const reason = this.busyReason();
    this.tools.setBlocked(reason);
    this.picker.setBusy(s.job.kind === 'load'); // a load may start during a tool job: the worker cancels it and says so
    this.keepFocus(focused);
    this.afterRender();
  }

  /**
   * A button that disables itself when pressed (Generate, Next token, Send, Continue; Stop when the run ends)
   * would drop keyboard focus to the page: it goes to Stop while a run goes on, then to the output.
   */
  private keepFocus(focused: Element | null): void {
    const u = this.ui;
    if (![u.generate, u.nextToken, u.send, u.continueBtn, u.stop].includes(focused as HTMLButtonElement) || !(focused as HTMLButtonElement).disabled) return;
    const target = this.state.job.kind === 'generate' && !this.ui.stop.disabled ? this.ui.stop : this.output.tabStop() ?? (this.ui.generate.disabled ? null : this.ui.generate);
    target?.focus({ preventScroll: true });
  }

  /** Effects of a render: bring a new run's first token into view (on a phone the output is below the controls). */
  private afterRender(): void {
    if (!this.runs.wantsScroll) return;
    const first = this.output.firstLiveToken();
    if (!first) return;
    this.runs.wantsScroll = false;
    const r = first.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) first.scrollIntoView({ block: 'center', behavior: 'instant' as ScrollBehavior });
  }

  private busyReason(): string | null {
    const j = this.state.job;
    if (!this.state.model) return tr().stillLoading;
    return j.kind === 'idle' ? null : tr().busyReason[j.kind];
  }

  /** A model small enough that its selected step is looked inside by itself (AUTO_INSPECT_PARAMS). */
  private get autoInspects(): boolean {
    return !!this.state.model && this.state.model.params <= AUTO_INSPECT_PARAMS;
  }

  private get settings(): SamplingSettings {
    const s = this.state.setup;
    return pickSampling(s);
  }

  private showError(text: string): void {
    this.dispatch({ type: 'messageShown', message: { kind: 'error', text } });
  }

  private whenIdle(): Promise<void> {
    return busy(this.state) ? new Promise((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  // ---------- generation ----------

  private setMode(mode: AppState['setup']['mode']): void {
    if (mode === this.state.setup.mode) return;
    if (this.state.job.kind === 'generate') this.runs.stop(mode); // a run is never left going where it cannot be seen
    this.dispatch({ type: 'modeSet', mode });
    this.models.modeChanged(mode);
  }

  private exportRun(): void {
    const data = runExport(this.state);
    if (!data) return this.showError(tr().nothingToExport);
    download('nexttoken-run.json', URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' })));
  }

  private async showPromptTokens(): Promise<void> {
    if (!this.state.model || this.state.setup.mode === 'chat') return;
    try {
      const text = this.state.setup.prompt;
      this.promptTokensShown(await this.client.tokenize(text), text);
    } catch (e) {
      this.showError((e as Error).message);
    }
  }

  /** The text's tokens, and whether the model's training text covered its script (coverage.ts). */
  private promptTokensShown(views: TokenView[], text: string): void {
    this.ui.promptTokensView(views);
    this.dispatch({ type: 'promptCoverageSet', coverage: promptCoverage(views, text) });
  }

  // ---------- the guided tour's "Show me" ----------

  private tourShow(c: Concept): Promise<HTMLElement | null> {
    return placeOf(c, {
      ui: this.ui,
      ...this.tools,
      picture: this.picture.element,
      completeMode: () => this.setMode('complete'),
      ensureStep: () => this.ensureStep(),
    });
  }

  /** A selected step to show: generates once if nothing has been generated yet. */
  private async ensureStep(): Promise<void> {
    this.setMode('complete');
    await this.whenIdle();
    if (!shownRun(this.state)?.steps.length) {
      await this.runs.generate(false);
      await this.whenIdle();
    }
    const run = shownRun(this.state);
    if (!run?.steps.length) throw new Error(tr().nothingToExport);
    if (!this.state.selected) this.dispatch({ type: 'stepSelected', runId: run.id, step: 0 });
    // The app's own look inside may start just as the run ends: the tool that asked must find the engine free.
    do {
      await new Promise((r) => setTimeout(r, 0));
      await this.whenIdle();
    } while (busy(this.state));
  }
}
