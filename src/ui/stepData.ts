// What the page asks the engine about steps and tokens it already shows: a past step's logits again (the page
// keeps full logits for the newest steps only: AppState.logitsHeld), and the labels of tokens the step panel and
// the model's picture name. Each is asked once; a step the engine refused is not asked again by the render until the
// learner selects it again, a load starts or the runs are cleared (a failure must not loop); a learner's own action
// (a branch, a forced token) always asks.
import { CancelledError } from '../engine/generate/cancelled.ts';
import { describeChoice } from '../sampling/step.ts';
import { packTop } from '../sampling/topColumns.ts';
import { EngineRestartedError, type EngineClient } from './engineClient.ts';
import { contextIds, KEPT_CANDIDATES, runById, type Action, type AppState } from './state.ts';

export interface StepDataHost {
  state(): AppState;
  dispatch(a: Action): void;
  readonly client: EngineClient;
  showError(message: string): void;
}

export class StepData {
  private readonly recomputing = new Set<string>();
  private readonly recomputeFailed = new Set<string>();
  private readonly labelsAsked = new Set<number>();

  constructor(private readonly host: StepDataHost) {}

  /** A load starts (another model, or the same one again): a step it refused may be answered now. */
  loadStarted(): void {
    this.recomputeFailed.clear();
  }

  /** The runs were cleared: run ids start again from 1. */
  runsCleared(): void {
    this.recomputeFailed.clear();
  }

  /** The learner selected this step: if the engine refused it before, the render asks once more. */
  selected(runId: number, step: number): void {
    this.recomputeFailed.delete(`${runId}:${step}`);
  }

  /** Whether the engine refused this step's logits (and nothing has asked again since). */
  failed(runId: number, step: number): boolean {
    return this.recomputeFailed.has(`${runId}:${step}`) && !this.recomputing.has(`${runId}:${step}`);
  }

  /** A model is in: its labels are asked afresh. */
  modelIn(): void {
    this.labelsAsked.clear();
  }

  /**
   * A dropped step's logits, computed again from the run's ids (the same model and ids give the distribution the
   * step was sampled from). `fromRender`: the render asks on every pass, so a step the engine refused is not asked
   * again from there.
   */
  async recomputeLogits(runId: number, step: number, fromRender = false): Promise<Float32Array | null> {
    const { state, dispatch, client, showError } = this.host;
    const key = `${runId}:${step}`;
    const run = runById(state(), runId);
    if (!run || this.recomputing.has(key) || (fromRender && this.recomputeFailed.has(key))) return null;
    this.recomputing.add(key);
    try {
      // Said only when something is ahead of it: a job that starts at once changes nothing on screen.
      const logits = await client.stepLogits(contextIds(run, step), (ahead) => ahead > 0 && dispatch({ type: 'recomputeQueued', at: { runId, step, ahead } }));
      // Its candidates too, from those logits under the step's own settings, if the page kept only the first KEPT_CANDIDATES.
      const record = run.steps[step];
      const top = record && record.top.n <= KEPT_CANDIDATES ? describeChoice(logits, record.settings, record.id, undefined, contextIds(run, step)) : null;
      dispatch({ type: 'logitsRecomputed', runId, step, logits, top: top ? packTop(top.top, top.stages.length) : undefined });
      return logits;
    } catch (e) {
      // Cancelled by a load, or ended by a worker restart: asked again when the engine is back, not remembered.
      if (!(e instanceof CancelledError || e instanceof EngineRestartedError)) this.recomputeFailed.add(key);
      showError((e as Error).message);
      return null;
    } finally {
      this.recomputing.delete(key);
      const queued = state().recomputeQueued;
      if (queued?.runId === runId && queued.step === step) dispatch({ type: 'recomputeQueued', at: null }); // this step waits no more
    }
  }

  /** Token labels the panel or the picture asked for (e.g. what other settings would draw), fetched once. */
  async learnLabels(ids: number[]): Promise<void> {
    const { state, dispatch, client } = this.host;
    // Asked once per id: the panel redraws while an answer is on its way, and a failed look-up must not loop.
    const want = ids.filter((id) => !(id in state().labels) && !this.labelsAsked.has(id));
    if (!want.length || !state().model) return;
    for (const id of want) this.labelsAsked.add(id);
    const views = await client.labels(want).catch(() => []);
    if (views.length) dispatch({ type: 'labelsLearned', labels: Object.fromEntries(views.map((v) => [v.id, v.label])) });
  }
}
