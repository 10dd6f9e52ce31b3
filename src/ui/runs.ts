// Runs: starting, continuing, branching and ending generations. Each one claims the engine at once (the
// busy state shows before any await), builds its run from the run's own tokens (never the text boxes),
// and streams its steps into the app state as named actions.
import type { GenerationSummary, StepRecord } from '../engine/generate/generate.ts';
import type { ChatMessage } from '../engine/load/tokenizer.ts';
import type { Inspection } from '../engine/tools/inspect.ts';
import { randomSeed as newRandomSeed } from '../sampling/prng.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { describeChoice } from '../sampling/step.ts';
import { packTop } from '../sampling/topColumns.ts';
import type { TokenView } from '../worker/protocol.ts';
import type { EngineClient } from './engineClient.ts';
import { t as tr } from './i18n/index.ts';
import { allIds, contextIds, conversationOf, ended, runById, type Action, type AppState, type Run, type StoppedBy, type Turn, canStart } from './state.ts';

export interface RunHost {
  state(): AppState;
  dispatch(a: Action): void;
  readonly client: EngineClient;
  settings(): SamplingSettings;
  showError(message: string): void;
  /** The tokens of the text about to be run, and the text the user wrote (for coverage.ts). */
  showPromptTokens(views: TokenView[], text: string): void;
  /** A past step's logits, recomputed by the engine when the page no longer holds them. */
  recomputeLogits(runId: number, step: number): Promise<Float32Array | null>;
  /** The layer to look inside each slow-motion step at, in its pause (null: the model is too large to, by itself). */
  inspectLayer(): number | null;
  /** A slow-motion step, looked inside during its pause. */
  stepInspected(runId: number, step: number, inspection: Inspection): void;
}

export class Runs {
  /** A run has started and its first token should be brought into view once it is drawn. */
  wantsScroll = false;
  private clock = { start: 0, first: 0, shown: 0, lastShown: 0, paced: false };

  private stoppedBy: StoppedBy | undefined;

  constructor(private readonly host: RunHost) {}

  private get state(): AppState {
    return this.host.state();
  }

  /** Stops the running generation: by the Stop button, or (`by`) a mode switch or a model load. */
  stop(by?: StoppedBy): void {
    if (this.state.job.kind !== 'generate') return;
    this.stoppedBy = by;
    this.host.dispatch({ type: 'stopRequested' });
    this.host.client.stop();
  }

  private seedForRun(): number {
    const s = this.state.setup;
    if (!s.randomSeed) return s.seed;
    const seed = newRandomSeed();
    this.host.dispatch({ type: 'setupChanged', patch: { seed } });
    return seed;
  }

  /** Claims the engine for a generation at once (the busy state shows before any await); false if it is taken. */
  private claim(): boolean {
    if (!this.state.model) {
      this.host.showError(tr().stillLoading);
      return false;
    }
    if (!canStart(this.state)) return false; // a second click or a held key: the first one is being answered
    this.host.dispatch({ type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    return true;
  }

  private release(message?: string): void {
    this.host.dispatch({ type: 'jobEnded', kind: 'generate' });
    if (message) this.host.showError(message);
  }

  async generate(single: boolean): Promise<void> {
    const text = this.state.setup.prompt;
    if (!text.trim()) return this.host.showError(tr().promptEmpty);
    if (!this.claim()) return;
    try {
      const promptIds = (await this.host.client.tokenize(text)).map((x) => x.id);
      const ctx = this.state.model!.contextLength;
      if (promptIds.length >= ctx) return this.release(tr().promptTooLong(promptIds.length, ctx)); // refused: no run
      if (this.jobStopped()) return this.release();
      const cur = runById(this.state, this.state.shown.complete);
      if (single && cur && sameIds(cur.promptIds, promptIds) && !ended(cur)) return this.startRun(cur, 1);
      const run = this.createRun({ mode: 'complete', prompt: text, history: [], dropped: [], promptIds, seed: this.seedForRun(), settings: this.host.settings(), parent: null });
      this.startRun(run, single ? 1 : this.state.setup.maxTokens);
    } catch (e) {
      this.release((e as Error).message);
    }
  }

  async send(): Promise<void> {
    const user = this.state.setup.message;
    if (!user.trim()) return this.host.showError(tr().messageEmpty);
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
      const run = this.createRun({ mode: 'chat', prompt: user, history, dropped, promptIds, seed: this.seedForRun(), settings: this.host.settings(), parent: null });
      this.host.dispatch({ type: 'setupChanged', patch: { message: '' } }); // the message is now part of the conversation
      if (newlyDropped) this.host.dispatch({ type: 'messageShown', message: { kind: 'notice', text: tr().turnsDropped(dropped.length, ctx) } });
      this.startRun(run, this.state.setup.maxTokens, () => this.host.dispatch({ type: 'setupChanged', patch: { message: user } }));
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
    const views = await this.host.client.tokenize(await this.host.client.chatPrompt(messages));
    this.host.showPromptTokens(views, user);
    return views.map((v) => v.id);
  }

  /** Branch: the picked candidate replaces the token at the selected step of the selected run; the new run goes on from there. */
  async continueFromHere(): Promise<void> {
    const { selected: sel, picked, forced: typed } = this.state;
    const run = runById(this.state, sel?.runId);
    const base = run && sel ? run.steps[sel.step] : undefined;
    if (!run || !sel || !base || picked === null) return;
    const logits = base.logits ?? (await this.host.recomputeLogits(run.id, sel.step));
    if (!logits || !this.claim()) return;
    try {
      // The picked candidate, or the learner's typed text: one step per token, each described from the
      // logits the model gives after the ones before it (the first from this step's own).
      const ids = typed ? typed.ids : [picked];
      const labels = typed ? typed.labels : [this.state.labels[picked] ?? (await this.host.client.labels([picked]))[0].label];
      const context = contextIds(run, sel.step);
      const forced: StepRecord[] = [];
      for (let j = 0; j < ids.length; j++) {
        const at = j === 0 ? logits : await this.host.client.stepLogits([...context, ...ids.slice(0, j)]);
        const choice = describeChoice(at, base.settings, ids[j], 20, [...context, ...ids.slice(0, j)]);
        // Described from the logits (the first step's are the base step's): whole even where the base kept only its first KEPT_CANDIDATES.
        const top = packTop(choice.top, choice.stages.length);
        forced.push({ ...choice, step: sel.step + j, position: base.position + j, token: labels[j], top, settings: base.settings, logits: at });
        if (this.state.model!.eosIds.includes(ids[j])) break;
      }
      const pickedToken = typed ? typed.text : labels[0];
      const branch = this.createRun({
        ...run,
        settings: this.host.settings(),
        steps: [...run.steps.slice(0, sel.step), ...forced],
        parent: { runId: run.id, step: sel.step, pickedId: picked, pickedToken, replacedToken: base.token, ...(typed ? { typed: true } : {}) },
      });
      if (this.state.model!.eosIds.includes(forced[forced.length - 1].id)) return this.finishRun(branch, null);
      this.startRun(branch, Math.max(1, this.state.setup.maxTokens - branch.steps.length));
    } catch (e) {
      this.release((e as Error).message);
    }
  }

  private createRun(run: Omit<Run, 'id' | 'steps' | 'summary' | 'reply'> & { steps?: StepRecord[] }): Run {
    this.host.dispatch({ type: 'runCreated', run });
    return this.state.runs[this.state.runs.length - 1];
  }

  private jobStopped(): boolean {
    const job = this.state.job;
    return job.kind === 'generate' && job.stopping;
  }

  /** Runs the engine on the run's own tokens (never the text boxes) and streams its steps into the state. */
  private startRun(run: Run, maxTokens: number, onError?: () => void): void {
    const drawsUsed = run.steps.filter((s) => s.draw !== null).length;
    const base = run.steps.length; // the worker numbers this call's steps from 0 (Next token and branches start with steps)
    this.clock = { start: performance.now(), first: 0, shown: 0, lastShown: 0, paced: this.state.setup.delayMs > 0 };
    this.wantsScroll = true;
    const args = { promptIds: allIds(run), settings: this.host.settings(), seed: run.seed, rngSkip: drawsUsed, maxTokens, delayMs: this.state.setup.delayMs, chat: run.mode === 'chat', inspectLayer: this.host.inspectLayer() };
    this.host.client.generate(args, {
      onStep: (record, labels) => {
        const clock = this.clock;
        if (!clock.first) clock.first = performance.now();
        this.host.dispatch({ type: 'stepAdded', runId: run.id, record, labels });
        // The frame that paints this token (the render runs first, in a microtask): the time the learner sees it.
        // The frame's own time, not the callback's: tokens painted by one frame were seen at once (two callbacks of
        // one frame, 0.015 ms apart, made a "66666.7 tokens/s" screen rate after a branch).
        requestAnimationFrame((frameTime) => {
          clock.lastShown = frameTime;
          if (!clock.shown++) clock.first = frameTime;
        });
      },
      onInspected: (step, inspection) => this.host.stepInspected(run.id, base + step, inspection),
      onDone: (summary) => void this.finishRun(run, summary),
      onError: (message) => {
        onError?.();
        this.host.dispatch({ type: 'runEnded', runId: run.id, summary: null, perf: null });
        this.release(message);
        countEnded();
      },
    });
  }

  private async finishRun(run: Run, summary: GenerationSummary | null): Promise<void> {
    const c = this.clock;
    // The last token's frame has been timed (a hidden tab paints no frames: then it waits no longer than 100 ms).
    await new Promise<void>((resolve) => {
      requestAnimationFrame(() => resolve());
      setTimeout(resolve, 100);
    });
    // Read after the wait: a mode switch or a load in that moment is still this run's stop.
    const stoppedBy = summary?.stopReason === 'aborted' ? this.stoppedBy : undefined;
    this.stoppedBy = undefined;
    const screenTokensPerSec = c.shown > 1 && c.lastShown > c.first ? ((c.shown - 1) * 1000) / (c.lastShown - c.first) : null;
    const perf = summary
      ? // In slow motion the run's wall time holds the pauses: no engine figure then.
        { tokensPerSec: summary.msPerToken > 0 && !c.paced ? 1000 / summary.msPerToken : null, screenTokensPerSec, ttftMs: c.first ? c.first - c.start : 0, stop: summary.stopReason, ...(stoppedBy ? { stoppedBy } : {}) }
      : null;
    this.host.dispatch({ type: 'runEnded', runId: run.id, summary, perf });
    if (run.mode === 'chat') {
      // The reply as later turns will give it back to the model: decoded, special tokens left out, trimmed.
      const steps = runById(this.state, run.id)!.steps;
      const text = await this.host.client.decode(steps.map((s) => s.id)).catch(() => '');
      this.host.dispatch({ type: 'replyDecoded', runId: run.id, text: text.trim() });
    }
    this.release();
    countEnded();
  }
}

/** For scripts and tests: how many runs have ended on this page (data-runs). */
function countEnded(): void {
  document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
