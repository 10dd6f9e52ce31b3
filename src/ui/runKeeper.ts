// Keeps the state's runs in the RunStore as they change, and gives them back when their model loads again.
// Saves are batched (a run writes a step record per token) and always written under the model the runs
// belong to: nothing is saved for a model until its saved runs have been read back.
import { t } from './i18n/index.ts';
import { RunStore } from './runStore.ts';
import type { Action, AppState } from './state.ts';

const SAVE_AFTER_MS = 400;

export class RunKeeper {
  private readonly store = RunStore.open();
  private model: string | null = null; // whose runs the state holds, once they have been read back
  private saved: { runs: AppState['runs']; shown: AppState['shown'] } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failureSaid = false;

  constructor(
    private readonly state: () => AppState,
    private readonly dispatch: (a: Action) => void,
  ) {}

  /** A model has loaded: its saved runs come back (into an empty page), and later changes are saved under it. */
  async modelLoaded(model: string): Promise<void> {
    this.cancel();
    this.model = null;
    const store = await this.store;
    if (!store) return;
    const restored = await store.load(model).catch(() => null);
    let kept: AppState['runs'] = [];
    if (restored && 'dropped' in restored) this.dispatch({ type: 'noticeAdded', text: t().runsDropped[restored.dropped] });
    else if (restored?.runs.length && !this.state().runs.length) {
      this.dispatch({ type: 'runsRestored', runs: restored.runs, shown: restored.shown });
      this.dispatch({ type: 'noticeAdded', text: t().runsRestored(restored.runs.length) });
      kept = restored.runs;
    }
    this.model = model;
    const s = this.state();
    // What the store now holds: the state as restored, or (the page kept newer runs of this model) nothing yet.
    this.saved = kept.length ? { runs: s.runs, shown: s.shown } : { runs: [], shown: { complete: null, chat: null } };
    this.dispatch({ type: 'runsSaved', runs: kept });
    this.changed();
  }

  /**
   * After every state change: a save is due if the runs or the shown runs changed. While a run grows it is
   * saved every SAVE_AFTER_MS; when it ends, at once (a reload right after a run must find all of it).
   */
  changed(a?: Action): void {
    const s = this.state();
    if (!this.model || !this.saved || (s.runs === this.saved.runs && s.shown === this.saved.shown)) return;
    if (a?.type === 'runEnded' || a?.type === 'replyDecoded') void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), SAVE_AFTER_MS);
  }

  /** Writes what is due now (before another model loads, so nothing of this one is lost). */
  async flush(): Promise<void> {
    this.cancel();
    const model = this.model;
    const store = await this.store;
    const s = this.state();
    if (!store || !model || !this.saved || (s.runs === this.saved.runs && s.shown === this.saved.shown)) return;
    const before = this.saved;
    this.saved = { runs: s.runs, shown: s.shown };
    try {
      await store.save(model, s.runs, s.shown);
      if (this.model === model) this.dispatch({ type: 'runsSaved', runs: s.runs });
    } catch (e) {
      if (this.saved.runs === s.runs) this.saved = before; // not saved: the next change tries again
      if (this.failureSaid) return;
      this.failureSaid = true; // once a page: a full disk would say it on every token
      const why = (e as Error).name === 'QuotaExceededError' ? t().storageFull : (e as Error).message;
      this.dispatch({ type: 'noticeAdded', text: t().runsNotSaved(why) });
    }
  }

  /** "Clear runs": the page's runs and the saved ones. */
  async clear(): Promise<void> {
    this.cancel();
    this.dispatch({ type: 'runsCleared' });
    const s = this.state();
    if (this.model) this.saved = { runs: s.runs, shown: s.shown };
    const store = await this.store;
    if (store && this.model) await store.clear(this.model).catch(() => undefined);
    this.dispatch({ type: 'runsSaved', runs: [] });
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
