// What a learner does at one step beyond sampling: force their own token(s), guess the next token (the
// game), and read the shown run as plain text. Each turns an engine answer into a named state change.
import { rawStanding } from '../sampling/sampler.ts';
import type { EngineClient } from './engineClient.ts';
import { t as tr } from './i18n/index.ts';
import { conversationOf, runById, shownRun, type Action, type AppState } from './state.ts';

export interface LearnerHost {
  state(): AppState;
  dispatch(a: Action): void;
  client: EngineClient;
  showError(message: string): void;
  recomputeLogits(runId: number, step: number): Promise<Float32Array | null>;
}

export class LearnerTools {
  constructor(private readonly host: LearnerHost) {}

  /** The plain-text view: the shown run decoded once per new token, while the view is open. */
  private decoding = false;
  async decodePlainText(): Promise<void> {
    const s = this.host.state();
    const run = shownRun(s);
    if (!s.plainText.on || !run || this.decoding || (s.plainText.runId === run.id && s.plainText.steps === run.steps.length)) return;
    this.decoding = true;
    try {
      const lines: string[] = [];
      if (run.mode === 'complete') lines.push(run.prompt + (await this.host.client.decode(run.steps.map((x) => x.id))));
      else {
        for (const turn of conversationOf(run)) {
          const r = runById(s, turn.runId)!;
          const reply = r.reply ?? (await this.host.client.decode(r.steps.map((x) => x.id)));
          lines.push(`${tr().you}${turn.user}`, `${tr().modelSays}${reply}`);
        }
      }
      this.host.dispatch({ type: 'plainTextDecoded', runId: run.id, steps: run.steps.length, text: lines.join('\n') });
    } catch (e) {
      this.host.showError((e as Error).message);
    } finally {
      this.decoding = false;
    }
  }

  /** The guessing game: score the learner's guess for the hidden step by the model's distribution there, then reveal it. */
  async guess(g: { text: string } | { id: number }): Promise<void> {
    const pending = this.host.state().guess.pending;
    const run = runById(this.host.state(), pending?.runId);
    const record = run && pending ? run.steps[pending.step] : undefined;
    if (!run || !pending || !record) return;
    try {
      let id: number;
      let label: string;
      if ('id' in g) [id, label] = [g.id, g.id === record.id ? record.token : (this.host.state().labels[g.id] ?? (await this.host.client.labels([g.id]))[0].label)];
      else {
        const views = g.text === '' ? [] : (await this.host.client.tokenize(g.text, true)).filter((v) => !v.special);
        if (!views.length) return this.host.showError(tr().guessEmpty);
        [id, label] = [views[0].id, views[0].label];
      }
      const logits = record.logits ?? (await this.host.recomputeLogits(run.id, pending.step));
      if (!logits) return;
      const { rawProb, rank } = rawStanding(logits, id);
      this.host.dispatch({ type: 'guessMade', round: { runId: run.id, step: pending.step, guessId: id, guessLabel: label, rawProb, rank, chosenId: record.id, chosenLabel: record.token, chosenProb: record.rawProb } });
    } catch (e) {
      this.host.showError((e as Error).message);
    }
  }

  /** The learner's own text as the next token(s) at the selected step: tokenised, then shown by the panel. */
  async forceText(text: string): Promise<void> {
    if (!this.host.state().selected || !this.host.state().model) return;
    if (text === '') return this.host.showError(tr().forceEmpty);
    try {
      const views = (await this.host.client.tokenize(text, true)).filter((v) => !v.special);
      if (!views.length) return this.host.showError(tr().forceEmpty);
      this.host.dispatch({ type: 'forcedText', forced: { text, ids: views.map((v) => v.id), labels: views.map((v) => v.label) } });
    } catch (e) {
      this.host.showError((e as Error).message);
    }
  }
}
