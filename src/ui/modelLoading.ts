// Which model is loaded, and loading another: the progress box, the warnings said once a load ends, falling
// back to the embedded model when the very first load fails, reloading after a worker restart, and the shipped
// model each mode uses until a learner picks one. Runs, prompt, conversation and settings survive every failure.
import type { HubProgress } from '../engine/load/hub.ts';
import { PRECISIONS, type ModelInfo, type ModelSource, type WeightDType } from '../worker/protocol.ts';
import { EngineRestartedError, type EngineClient } from './engineClient.ts';
import { t as tr } from './i18n/index.ts';
import type { Layout } from './layout.ts';
import { describeSource, EMBEDDED_CHAT_ID, EMBEDDED_ID, embeddedIdOf, modelQuery, progressLine, sameSource, sourceKey, type EmbeddedUrls } from './models.ts';
import type { RunKeeper } from './runKeeper.ts';
import type { Action, AppState } from './state.ts';
import type { ModelPicker } from './views/modelPicker.ts';

export interface ModelLoadingHost {
  state(): AppState;
  dispatch(a: Action): void;
  readonly client: EngineClient;
  readonly ui: Layout;
  readonly keeper: RunKeeper;
  readonly picker: ModelPicker;
  showError(message: string): void;
  /** Stops a running generation before a load and resolves once the engine is idle. */
  stopRunForLoad(): Promise<void>;
  /** The new model is in (its runs restored): what the page learns of it before the load is said done. */
  modelIn(model: ModelInfo): Promise<void>;
  /** The load is done and the engine free. */
  loadEnded(): void;
}

export class ModelLoading {
  /** Where the loaded model came from (null before the first load). */
  source: ModelSource | null = null;
  /** A learner chose the model (picker or URL): modes no longer switch it. */
  picked = false;
  private warnings: string[] | null = null; // while a load runs: its warnings, said when it ends
  private latest = 0; // the newest load: an older one that fails because a newer replaced it says nothing

  constructor(
    private readonly host: ModelLoadingHost,
    private readonly embedded: EmbeddedUrls,
  ) {
    // One subscription for the page's life: a warning during a load is said when the load ends; any other
    // (e.g. a failed move to WASM after a lost GPU) at once.
    host.client.onWarning = (message) => (this.warnings ? this.warnings.push(message) : host.showError(message));
  }

  /**
   * Loads a model in the worker. A running generation is stopped first. If loading fails, the current
   * model, runs, prompt, conversation and settings stay; on the very first load the embedded model is
   * loaded instead, so the app always ends with a working model.
   */
  async load(source: ModelSource, choice: string | null): Promise<void> {
    const host = this.host;
    const mine = ++this.latest;
    if (host.state().job.kind === 'generate') await host.stopRunForLoad();
    const ui = host.ui;
    const onProgress = (p: HubProgress) => {
      const total = p.overallTotal ?? p.total;
      if (total) ui.progress.value = (p.overallTotal ? p.overallLoaded : p.loaded) / total;
      ui.progressText.textContent = progressLine(p, tr());
    };
    const job = host.state().job;
    const toolWasRunning = job.kind === 'tool' && !job.quiet; // the app's own inspection is not worth a notice
    // Busy before the first await: a Generate pressed just after a mode switch must not start a run that the
    // load would then pull the model from under.
    host.dispatch({ type: 'jobStarted', job: { kind: 'load' } });
    this.warnings = [];
    ui.loadBox.hidden = false;
    ui.progress.value = 0;
    ui.progressText.textContent = tr().loadingSource(describeSource(source));
    await host.keeper.flush(); // the current model's last changes, before its runs leave the page
    const query = new URLSearchParams(location.search);
    const backends = query.get('backend')?.split(',');
    const dtype = precisionAsked(query);
    if (dtype === null) this.warnings.push(tr().badPrecision(query.get('dtype') ?? '', PRECISIONS.join(', ')));
    try {
      const r = await host.client.load(source, backends, onProgress, dtype ?? undefined);
      if (mine !== this.latest) return; // a newer load (a recovery) owns the page's state now
      // The same model again (a reload after a crash, or picked again) reads the same token ids: runs stay.
      const keepRuns = host.state().model === null || sameSource(source, this.source);
      this.source = source;
      host.dispatch({ type: 'modelLoaded', model: r.model, backend: r.backend, keepRuns });
      await host.keeper.modelLoaded(sourceKey(source));
      if (mine !== this.latest) return;
      ui.loadBox.hidden = true;
      if (choice !== null) history.replaceState(null, '', modelQuery(location.search, source, choice));
      host.picker.show(source, r.model.dtype);
      await host.modelIn(r.model);
      if (mine !== this.latest) return;
      document.body.dataset.model = r.model.name;
      const warnings = this.warnings ?? [];
      this.warnings = null;
      if (warnings.length) host.showError(warnings.join(' '));
      const named = (list: typeof r.cancelled) => list.map((j) => tr().jobProgress(tr().jobNames[j.job], j.done, j.total));
      if (r.cancelled.length || r.waited.length || toolWasRunning) host.dispatch({ type: 'noticeAdded', text: tr().loadCancelled(r.model.name, named(r.cancelled), named(r.waited)) });
      host.dispatch({ type: 'jobEnded', kind: 'load' });
      document.body.dataset.ready = 'true';
      document.body.dataset.loads = String(Number(document.body.dataset.loads ?? 0) + 1); // for scripts: loads finished
      host.loadEnded();
    } catch (e) {
      // A newer load replaced this one (a recovery after a worker restart, or a learner's pick), or the worker was
      // replaced mid-load and recover() reloads: the newer load owns the page's state, so nothing is touched or said.
      if (e instanceof EngineRestartedError || mine !== this.latest) return;
      this.warnings = null;
      host.dispatch({ type: 'jobEnded', kind: 'load' });
      const why = tr().loadFailed(describeSource(source), (e as Error).message);
      const embedded: ModelSource = { kind: 'url', url: this.embedded[EMBEDDED_ID] };
      if (!host.state().model && embeddedIdOf(source, this.embedded) === null) {
        ui.progressText.textContent = why;
        await this.load(embedded, EMBEDDED_ID);
        host.showError(why + tr().fellBack(host.state().model?.name ?? 'nexttoken'));
        return;
      }
      const model = host.state().model;
      ui.progressText.textContent = model ? tr().stillUsing(model.name) : tr().couldNotLoad;
      host.showError(why);
    }
  }

  /** The same model again at another precision (the page's address keeps it: ?dtype=q4_0). Runs are kept: same tokens. */
  async setPrecision(dtype: WeightDType): Promise<void> {
    const query = new URLSearchParams(location.search);
    query.set('dtype', dtype); // said even for f32: a quantized GGUF otherwise loads as its file holds it
    history.replaceState(null, '', '?' + query.toString());
    await this.load(this.source ?? { kind: 'url', url: this.embedded[EMBEDDED_ID] }, null);
  }

  /** The worker was replaced: load the model again. Runs, prompt and settings live in the page and are kept. */
  async recover(why: string): Promise<void> {
    const { dispatch, state } = this.host;
    dispatch({ type: 'noticeAdded', text: tr().engineRestarted(why) });
    const job = state().job;
    if (job.kind !== 'idle') dispatch({ type: 'jobEnded', kind: job.kind });
    await this.load(this.source ?? { kind: 'url', url: this.embedded[EMBEDDED_ID] }, null);
  }

  /**
   * Until a learner picks a model, each mode has its shipped model: the base continues text, the fine-tuned
   * one chats (it ends its turns). Each model's runs are kept and come back with it.
   */
  modeChanged(mode: AppState['setup']['mode']): void {
    const shipped = embeddedIdOf(this.source, this.embedded);
    const wanted = mode === 'chat' ? EMBEDDED_CHAT_ID : EMBEDDED_ID;
    if (this.picked || shipped === null || shipped === wanted || this.host.state().job.kind === 'load') return;
    void this.load({ kind: 'url', url: this.embedded[wanted] }, null).then(() => {
      if (embeddedIdOf(this.source, this.embedded) === wanted) this.host.dispatch({ type: 'noticeAdded', text: tr().modeModel[mode] });
    });
  }
}

/**
 * The precision the page's address asks for (?dtype=q8_0); undefined when it asks none (a safetensors model then
 * loads at float32, a GGUF as its file holds it); null when the value is not one.
 */
export function precisionAsked(query: URLSearchParams): WeightDType | undefined | null {
  const v = query.get('dtype');
  if (v === null) return undefined;
  return (PRECISIONS as readonly string[]).includes(v) ? (v as WeightDType) : null;
}
