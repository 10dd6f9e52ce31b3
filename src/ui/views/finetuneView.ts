// Before and after fine-tuning: at the step a learner selected, the base model's next-token
// distribution beside the chat-tuned model's (the two embedded models), what the chosen token had in
// each, how far apart the two are (KL divergence), and the tokens fine-tuning raised or lowered most.
// In a chat each model reads the conversation in its own template, then the same reply so far.
import type { BeforeAfter, SideDistribution, TokenShift } from '../../engine/tools/finetune.ts';
import type { ChatMessage } from '../../engine/load/tokenizer.ts';
import type { BeforeAfterArgs, ModelSource } from '../../worker/protocol.ts';
import { clear, h, probText, visibleToken } from '../dom.ts';
import type { EngineClient } from '../engineClient.ts';
import { label, onLangChange, t } from '../i18n/index.ts';
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';
import { topBars } from './topBars.ts';
import { contextIds, runById, shownRun, type AppState } from '../state.ts';
import type { SamplingSettings } from '../../sampling/sampler.ts';

const TOP_SHOWN = 8;

/** The step to compare: the loaded model's context there, and the token the run chose. */
export interface StepContext {
  runId: number;
  step: number;
  contextIds: number[];
  chosenId: number;
  chosenToken: string;
  chat: { messages: ChatMessage[]; replyIds: number[] } | null;
  /** The run's prompt and how many tokens the run generated (the precision view continues it greedily). */
  promptIds: number[];
  runTokens: number;
}

export interface FinetuneHost extends ToolHost {
  /** The selected step (or the shown run's last one), or null when nothing has been generated. */
  stepContext(): StepContext | null;
  /** The loaded model's fine-tuning sibling: the base for the tuned model, the tuned one for the base. */
  sibling(): { source: ModelSource; is: 'base' | 'tuned' } | null;
  /** Ask both: the conversation to answer (the chat so far and the message being typed), its settings. */
  conversation(): { messages: ChatMessage[]; settings: SamplingSettings; seed: number; maxTokens: number } | null;
}

export class FinetuneView {
  readonly element: HTMLElement;
  private readonly result: HTMLElement;
  private readonly replies: HTMLElement;
  private readonly availability: Availability;
  private shown: { at: StepContext; r: BeforeAfter } | null = null;

  constructor(
    private readonly client: EngineClient,
    private readonly host: FinetuneHost,
  ) {
    const compare = label(h('button', { type: 'button', class: 'primary' }), (d) => d.finetuneRun);
    const both = label(h('button', { type: 'button' }), (d) => d.askBoth);
    this.availability = new Availability([compare, both]);
    this.result = label(h('div', { class: 'finetune-result' }), (d) => d.finetuneResult, 'aria-label');
    this.replies = label(h('div', { class: 'finetune-replies' }), (d) => d.askBothResult, 'aria-label');
    this.element = toolPanel('finetune', (d) => d.finetune, (d) => d.finetuneTitle, (d) => d.finetuneHint, this.availability.note, h('div', { class: 'buttons' }, compare, both), this.result, this.replies);
    compare.addEventListener('click', () => void this.run());
    both.addEventListener('click', () => void this.askBoth());
    onLangChange(() => this.shown && this.render(this.shown.at, this.shown.r));
  }

  /** Why the engine cannot be used now (null: it can); a model with no sibling cannot compare at all. */
  setBlocked(reason: string | null): void {
    this.availability.set(this.host.sibling() ? reason : t().finetuneNone);
  }

  /** After each model load: the old comparison belonged to the other model. */
  setModel(): void {
    this.shown = null;
    clear(this.result);
    clear(this.replies);
  }

  /** The same conversation answered by each model, in its own chat format, with the current settings and seed. */
  askBoth(): Promise<void> {
    return this.availability.run(this.host, async () => {
      const sibling = this.host.sibling();
      if (!sibling) throw new Error(t().finetuneNone);
      const c = this.host.conversation();
      if (!c) throw new Error(t().askBothNothing);
      const r = await this.client.askBoth({ other: sibling.source, otherIs: sibling.is, ...c });
      const d = t();
      clear(this.replies);
      const last = c.messages[c.messages.length - 1].content;
      this.replies.append(h('p', { class: 'hint', translate: 'no' }, d.askBothFor(last)));
      for (const [which, reply, title] of [['base', r.base, d.finetuneBase], ['tuned', r.tuned, d.finetuneTuned]] as const) {
        this.replies.append(
          h('article', { class: `finetune-reply ${which}`, 'data-stop': reply.stopReason }, h('h3', { translate: 'no' }, `${title} · ${reply.model}`), h('p', { class: 'reply-text', translate: 'no' }, reply.text || '∅'), h('p', { class: 'hint' }, d.askBothStop(d.stopReasons[reply.stopReason], reply.tokens) + (reply.droppedTurns ? d.askBothDropped(reply.droppedTurns) : ''))),
        );
      }
    });
  }

  /** Compares the two models at the selected step (the tour's "Show me" calls this too). */
  run(): Promise<void> {
    return this.availability.run(this.host, async () => {
      const sibling = this.host.sibling();
      if (!sibling) throw new Error(t().finetuneNone);
      const at = this.host.stepContext();
      if (!at) throw new Error(t().finetuneNoStep);
      const args: BeforeAfterArgs = { other: sibling.source, otherIs: sibling.is, contextIds: at.contextIds, chat: at.chat, chosenId: at.chosenId };
      const r = await this.client.beforeAfter(args);
      this.shown = { at, r };
      this.render(at, r);
    });
  }

  private render(at: StepContext, r: BeforeAfter): void {
    const d = t();
    clear(this.result);
    this.result.dataset.run = String(at.runId);
    this.result.dataset.step = String(at.step);
    this.result.append(
      h('p', { class: 'hint computed-for', translate: 'no' }, d.computedForStep(at.step + 1, visibleToken(at.chosenToken))),
      h('div', { class: 'finetune-sides' }, this.side(r.base, 'base', d.finetuneBase), this.side(r.tuned, 'tuned', d.finetuneTuned)),
      h('p', { class: 'finetune-kl', 'data-kl': r.klNats }, d.finetuneKl(r.klNats.toFixed(3))),
      h('div', { class: 'finetune-shifts' }, this.shifts(r.raised, d.finetuneRaised, 'raised'), this.shifts(r.lowered, d.finetuneLowered, 'lowered')),
    );
  }

  private side(s: SideDistribution, which: 'base' | 'tuned', title: string): HTMLElement {
    const d = t();
    return label(
      h(
        'article',
        { class: `finetune-side ${which}`, role: 'region', 'data-model': s.model },
        h('h3', { translate: 'no' }, `${title} · ${s.model}`),
        h('p', { class: 'finetune-chosen', 'data-prob': s.chosen?.prob ?? '', 'data-rank': s.chosen?.rank ?? '' }, s.chosen ? d.finetuneChosen(probText(s.chosen.prob), s.chosen.rank) : d.finetuneChosenMissing),
        topBars(s.top.slice(0, TOP_SHOWN), s.chosen?.id, 'finetune-top', d.replayTop),
        h('p', { class: 'hint' }, d.finetuneEntropy(s.entropy.toFixed(1))),
      ),
      () => title,
      'aria-label',
    );
  }

  private shifts(list: TokenShift[], title: string, kind: string): HTMLElement {
    return h(
      'div',
      { class: `finetune-shift ${kind}` },
      h('h4', {}, title),
      h('ul', {}, ...list.map((s) => h('li', { 'data-id': s.id }, h('span', { class: 'tok', translate: 'no' }, visibleToken(s.token)), ' ', `${probText(s.base)} → ${probText(s.tuned)}`))),
    );
  }
}

/**
 * The step the comparison is for: the selected one, else the shown run's last. A chat's messages are
 * the run's earlier turns and its user message; its reply so far is what follows the root run's prompt
 * (a branch's prompt already holds part of the reply).
 */
export function stepContextOf(s: AppState): StepContext | null {
  const run = s.selected ? runById(s, s.selected.runId) : shownRun(s);
  if (!run?.steps.length) return null;
  const step = s.selected?.runId === run.id ? s.selected.step : run.steps.length - 1;
  const record = run.steps[step];
  const ids = contextIds(run, step);
  let chat: StepContext['chat'] = null;
  if (run.mode === 'chat') {
    let root = run;
    while (root.parent) root = runById(s, root.parent.runId) ?? root;
    const messages: ChatMessage[] = run.history.flatMap((turn) => [
      { role: 'user' as const, content: turn.user },
      { role: 'assistant' as const, content: runById(s, turn.runId)?.reply ?? '' },
    ]);
    messages.push({ role: 'user', content: run.prompt });
    chat = { messages, replyIds: ids.slice(root.promptIds.length) };
  }
  return { runId: run.id, step, contextIds: ids, chosenId: record.id, chosenToken: record.token, chat, promptIds: run.promptIds, runTokens: run.steps.length };
}

/**
 * Ask both: the shown chat's turns (its earlier turns, its user message and reply), then the message being
 * typed; with no message typed, the shown chat's last message is asked again.
 */
export function conversationOf(s: AppState): ChatMessage[] | null {
  const run = s.shown.chat !== null ? runById(s, s.shown.chat) : null;
  const turns: ChatMessage[] = [];
  if (run) {
    for (const turn of run.history) turns.push({ role: 'user', content: turn.user }, { role: 'assistant', content: runById(s, turn.runId)?.reply ?? '' });
    turns.push({ role: 'user', content: run.prompt });
  }
  const typed = s.setup.message.trim();
  if (typed) {
    if (run) turns.push({ role: 'assistant', content: run.reply ?? '' });
    turns.push({ role: 'user', content: typed });
  }
  return turns.length ? turns : null;
}
