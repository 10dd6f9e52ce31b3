// The app's state: one plain, typed object, changed only by the named actions below and rendered by
// one path (app.ts → render). Views never keep their own copy of runs, selection or settings, and the
// DOM is never read back as state.
//
// Runs form a tree. A run owns what it was generated from (its prompt, or in chat the conversation
// before its reply), its settings and seed, and — for a branch — the run and step it branched from
// and the token picked there. Nothing a run shows depends on the text boxes.
import type { GenerationSummary, StepRecord } from '../engine/generate/generate.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { sameSampling, STAGES } from '../sampling/stages.ts';
import { firstOf, unpackTop, type TopColumns } from '../sampling/topColumns.ts';
import type { BackendInfo, ModelInfo } from '../worker/protocol.ts';
import type { Mode, Setup } from './urlState.ts';
import type { PromptCoverage } from './coverage.ts';
import type { IsolationReason, ModelCacheProgress } from '../offline.ts';
import type { GuessPrompt, GuessRound } from './guessGame.ts';

export type { Mode };

/** A finished chat turn, as the next turn's template sees it. */
export interface Turn {
  user: string;
  runId: number; // the run whose tokens are the reply
}

/** Text typed as the next token(s) at a step, as the model's tokenizer reads it. */
export interface ForcedText {
  text: string;
  ids: number[];
  labels: string[];
}

export interface Branching {
  runId: number;
  step: number; // 0-based index of the replaced step in the parent
  pickedId: number;
  pickedToken: string; // the picked token's label, or the text typed (typed: true)
  replacedToken: string;
  typed?: boolean;
}

export interface Run {
  id: number; // 1-based, in creation order: "run 3"
  mode: Mode;
  prompt: string; // complete: the prompt as typed; chat: the user's message of this turn
  history: Turn[]; // chat: the earlier turns in the model's context (empty in complete mode)
  dropped: Turn[]; // chat: the oldest turns, left out so the conversation fits the context
  promptIds: number[];
  seed: number;
  settings: SamplingSettings; // as the run started (a step records its own, if changed mid-run)
  steps: StepRecord[];
  parent: Branching | null;
  summary: GenerationSummary | null;
  reply: string | null; // chat: the decoded reply once the run has ended (what later turns are given)
}

export type Job =
  | { kind: 'idle' }
  | { kind: 'generate'; runId: number | null; phase: 'preparing' | 'running'; stopping: boolean }
  | { kind: 'load' }
  | { kind: 'tool'; /** started by the app itself (the picture's inspection): a learner's run may start over it */ quiet?: boolean };

export interface Message {
  kind: 'error' | 'notice';
  text: string;
}

export interface Perf {
  /** The engine's own rate (decode steps, in the worker). */
  tokensPerSec: number | null;
  /** As the learner saw them: from the first token on screen to the last, rendering included (null: one token). */
  screenTokensPerSec: number | null;
  /** From the click to the first token on screen. */
  ttftMs: number;
  stop: GenerationSummary['stopReason'];
  /** A run stopped by something other than the Stop button: what stopped it. */
  stoppedBy?: StoppedBy;
}

export type StoppedBy = 'chat' | 'complete' | 'load';

/** The deploy as the learner meets it: threads (cross-origin isolation), the offline copy, a newer version. */
export interface OfflineState {
  isolated: boolean;
  reason: IsolationReason;
  detail: string;
  models: ModelCacheProgress | null; // the shipped models kept offline; null: not asked (no service worker)
  updateReady: boolean; // a newer deploy has installed: offer a reload
}

export interface AppState {
  setup: Setup; // the controls and text boxes: what the next run will use
  runs: Run[]; // the run tree, every mode, in creation order
  shown: Record<Mode, number | null>; // the run each mode shows
  selected: { runId: number; step: number } | null;
  picked: number | null; // the candidate picked to branch on, at the selected step
  forced: ForcedText | null; // text the learner typed as the next token(s) at the selected step (picked is its first id)
  plainText: { on: boolean; runId: number | null; steps: number; text: string }; // the shown run as decoded text, for that many steps
  guess: { on: boolean; pending: { runId: number; step: number } | null; rounds: GuessRound[]; prompts: GuessPrompt[] }; // the guessing game: a new token stays hidden until guessed
  followNewest: boolean; // while generating, the panel follows the newest token
  model: ModelInfo | null;
  backend: BackendInfo | null;
  job: Job;
  message: Message | null;
  notices: string[]; // lasting notes for this page (e.g. corrected URL values), the newest MAX_NOTICES
  noticesDropped: number; // older notes no longer shown
  /** How much of the text being written the model's tokenizer could only split into bytes (coverage.ts). */
  promptCoverage: PromptCoverage | null;
  perf: Perf | null;
  labels: Record<number, string>; // token labels learned on demand (ids outside a step's stored top list)
  /**
   * Steps whose full-vocabulary logits are held, oldest first. Logits cost 4 bytes per vocabulary
   * entry per step (200 KB for GPT-2), so only the newest fit in `logitsBudget` bytes; an older step's
   * are recomputed from its run's ids when it is selected again.
   */
  logitsHeld: { runId: number; step: number; bytes: number }[];
  logitsBudget: number;
  /** A selected step whose logits wait in the engine's queue to be recomputed: how many jobs are ahead. */
  recomputeQueued: { runId: number; step: number; ahead: number } | null;
  offline: OfflineState;
  /** What the last finished save kept for after a reload (runStore.ts): runs, and their steps in all. */
  saved: { runs: number; steps: number };
}

/** Lasting notes shown at most (the newest). */
export const MAX_NOTICES = 8;

/**
 * Candidates a step keeps once its logits are let go: the first three, which the output's fork mark
 * (tokens.ts isFork: two) and the model's picture (its top three) read. The full list comes back with the
 * logits when the step is selected.
 */
export const KEPT_CANDIDATES = 3;

/** Full logits the page keeps at most (the newest steps'); see AppState.logitsHeld. */
export const LOGITS_BUDGET_BYTES = 32 * 2 ** 20; // 2,048 steps at a 4,096-token vocabulary, 166 at GPT-2's 50,257

export type Action =
  | { type: 'setupChanged'; patch: Partial<Setup> }
  | { type: 'modeSet'; mode: Mode }
  | { type: 'jobStarted'; job: Exclude<Job, { kind: 'idle' }>; /** started by the app itself, not the learner: the shown error stays */ quiet?: boolean }
  | { type: 'jobEnded'; kind: Exclude<Job, { kind: 'idle' }>['kind'] } // ends that job only: a load may have replaced a tool job
  | { type: 'backendChanged'; backend: BackendInfo }
  | { type: 'stopRequested' }
  | { type: 'runCreated'; run: Omit<Run, 'id' | 'steps' | 'summary' | 'reply'> & { steps?: StepRecord[] } }
  /** `labels`: how the record's candidates are shown (learned into AppState.labels; the record holds ids only). */
  | { type: 'stepAdded'; runId: number; record: StepRecord; labels?: Record<number, string> }
  | { type: 'runEnded'; runId: number; summary: GenerationSummary | null; perf: Perf | null }
  | { type: 'replyDecoded'; runId: number; text: string }
  | { type: 'runShown'; runId: number }
  | { type: 'stepSelected'; runId: number; step: number }
  | { type: 'candidatePicked'; id: number | null }
  | { type: 'forcedText'; forced: ForcedText | null }
  | { type: 'plainTextToggled'; on: boolean }
  | { type: 'guessModeSet'; on: boolean }
  | { type: 'guessMade'; round: GuessRound }
  | { type: 'guessPromptsSet'; prompts: GuessPrompt[] }
  | { type: 'plainTextDecoded'; runId: number; steps: number; text: string }
  | { type: 'chatCleared' }
  | { type: 'modelLoaded'; model: ModelInfo; backend: BackendInfo; keepRuns: boolean }
  | { type: 'messageShown'; message: Message | null }
  | { type: 'noticeAdded'; text: string }
  | { type: 'promptCoverageSet'; coverage: PromptCoverage | null }
  | { type: 'labelsLearned'; labels: Record<number, string> }
  /** `top`: the step's candidates, described again from the logits (a step whose logits were let go kept only its first KEPT_CANDIDATES). */
  | { type: 'logitsRecomputed'; runId: number; step: number; logits: Float32Array; top?: TopColumns }
  | { type: 'recomputeQueued'; at: { runId: number; step: number; ahead: number } | null }
  | { type: 'offlineChanged'; patch: Partial<OfflineState> }
  | { type: 'runsRestored'; runs: Run[]; shown: AppState['shown'] }
  | { type: 'runsCleared' }
  | { type: 'runsSaved'; runs: Run[] };

export function initialState(setup: Setup, logitsBudget = LOGITS_BUDGET_BYTES, offline: OfflineState = { isolated: false, reason: 'dev', detail: '', models: null, updateReady: false }): AppState {
  return {
    setup,
    runs: [],
    shown: { complete: null, chat: null },
    selected: null,
    picked: null,
    forced: null,
    plainText: { on: false, runId: null, steps: 0, text: '' },
    guess: { on: false, pending: null, rounds: [], prompts: [] },
    followNewest: true,
    model: null,
    backend: null,
    job: { kind: 'idle' },
    message: null,
    notices: [],
    noticesDropped: 0,
    promptCoverage: null,
    perf: null,
    labels: {},
    logitsHeld: [],
    logitsBudget,
    recomputeQueued: null,
    offline,
    saved: { runs: 0, steps: 0 },
  };
}

export function reduce(s: AppState, a: Action): AppState {
  let next = apply(s, a);
  if (next === s) return s;
  // Forced text belongs to one step and stands for its pick: another step or another pick drops it.
  if (next.forced && (next.picked !== next.forced.ids[0] || (next.selected !== s.selected && a.type !== 'forcedText'))) next = { ...next, forced: null };
  // The guessing game: a token generated in Complete mode stays hidden until the learner has guessed it.
  if (a.type === 'stepAdded' && next.guess.on && runById(next, a.runId)?.mode === 'complete') {
    next = { ...next, guess: { ...next.guess, pending: { runId: a.runId, step: runById(next, a.runId)!.steps.length - 1 } } };
  }
  return holdLogits(next, a);
}

/** Records which steps now hold logits, and drops the oldest beyond the budget. */
function holdLogits(s: AppState, a: Action): AppState {
  const added: { runId: number; step: number }[] = [];
  if (a.type === 'stepAdded') added.push({ runId: a.runId, step: s.runs[a.runId - 1].steps.length - 1 });
  else if (a.type === 'runCreated') {
    const run = s.runs[s.runs.length - 1];
    run.steps.forEach((x, step) => x.logits && added.push({ runId: run.id, step }));
  } else if (a.type === 'logitsRecomputed') added.push({ runId: a.runId, step: a.step });
  else return s;
  let held = s.logitsHeld.filter((h) => !added.some((x) => x.runId === h.runId && x.step === h.step));
  for (const x of added) {
    const bytes = s.runs[x.runId - 1]?.steps[x.step]?.logits?.byteLength ?? 0;
    if (bytes) held.push({ ...x, bytes });
  }
  let total = held.reduce((n, h) => n + h.bytes, 0);
  let drop = 0;
  while (total > s.logitsBudget && drop < held.length - 1) total -= held[drop++].bytes; // the newest always stays
  if (!drop) return { ...s, logitsHeld: held };
  const dropped = held.slice(0, drop);
  held = held.slice(drop);
  const byRun = new Map<number, Set<number>>();
  for (const d of dropped) byRun.set(d.runId, (byRun.get(d.runId) ?? new Set()).add(d.step));
  const runs = s.runs.map((r) => {
    const steps = byRun.get(r.id);
    return steps ? { ...r, steps: r.steps.map((x, i) => (steps.has(i) ? { ...x, logits: undefined, top: firstOf(x.top, KEPT_CANDIDATES) } : x)) } : r;
  });
  return { ...s, runs, logitsHeld: held };
}

/**
 * A step as the state keeps it, for every token of every run: numbered in its run, and sharing the step
 * before's settings object when the settings are the same (a record per token stays about 1 KB; see
 * npm run bench:soak).
 */
function compactStep(record: StepRecord, step: number, before: StepRecord | undefined): StepRecord {
  const settings = before && sameSampling(before.settings, record.settings) ? before.settings : record.settings;
  return { ...record, step, settings };
}

/** Labels with `more` learned; the same object when nothing is new (most steps, once a run is under way). */
function learned(labels: Record<number, string>, more: Record<number, string> | undefined): Record<number, string> {
  if (!more) return labels;
  for (const id in more) if (!(id in labels)) return { ...labels, ...more };
  return labels;
}

function apply(s: AppState, a: Action): AppState {
  switch (a.type) {
    case 'setupChanged':
      return { ...s, setup: { ...s.setup, ...a.patch } };
    case 'modeSet':
      return { ...s, setup: { ...s.setup, mode: a.mode }, selected: null, picked: null, promptCoverage: null }; // the other mode's text is another text
    case 'jobStarted':
      // Generate or Next token: the panel and the picture follow the new tokens (even from an older selected step).
      return { ...s, job: a.job, message: s.message?.kind === 'error' && !a.quiet ? null : s.message, ...(a.job.kind === 'generate' ? { followNewest: true } : {}) };
    case 'jobEnded':
      return s.job.kind === a.kind ? { ...s, job: { kind: 'idle' } } : s;
    case 'backendChanged':
      return { ...s, backend: a.backend };
    case 'stopRequested':
      return s.job.kind === 'generate' ? { ...s, job: { ...s.job, stopping: true } } : s;
    case 'runCreated': {
      const run: Run = { ...a.run, id: s.runs.length + 1, steps: a.run.steps ?? [], summary: null, reply: null };
      const job = s.job.kind === 'generate' ? { ...s.job, runId: run.id, phase: 'running' as const } : s.job;
      const selected = run.steps.length ? { runId: run.id, step: run.steps.length - 1 } : s.selected;
      return { ...s, runs: [...s.runs, run], shown: { ...s.shown, [run.mode]: run.id }, job, selected, picked: null, followNewest: true };
    }
    case 'stepAdded': {
      const runs = s.runs.map((r) => (r.id === a.runId ? { ...r, steps: [...r.steps, compactStep(a.record, r.steps.length, r.steps.at(-1))] } : r));
      const labels = learned(s.labels, a.labels);
      const run = runs[a.runId - 1];
      const follow = s.followNewest || !s.selected || s.selected.runId !== a.runId;
      const job = s.job.kind === 'generate' ? { ...s.job, runId: a.runId, phase: 'running' as const } : s.job;
      return follow ? { ...s, runs, labels, job, selected: { runId: a.runId, step: run.steps.length - 1 }, picked: null, followNewest: true } : { ...s, runs, labels, job };
    }
    case 'runEnded':
      return { ...s, runs: s.runs.map((r) => (r.id === a.runId ? { ...r, summary: a.summary } : r)), perf: a.perf ?? s.perf };
    case 'replyDecoded':
      return { ...s, runs: s.runs.map((r) => (r.id === a.runId ? { ...r, reply: a.text } : r)) };
    case 'runShown': {
      const run = s.runs[a.runId - 1];
      if (!run) return s;
      return { ...s, shown: { ...s.shown, [run.mode]: run.id }, selected: null, picked: null };
    }
    case 'stepSelected': {
      const running = s.job.kind === 'generate' && s.job.runId === a.runId;
      const last = (s.runs[a.runId - 1]?.steps.length ?? 0) - 1;
      return { ...s, selected: { runId: a.runId, step: a.step }, picked: null, followNewest: running && a.step >= last };
    }
    case 'guessModeSet':
      return { ...s, guess: { ...s.guess, on: a.on, pending: null, rounds: a.on ? [] : s.guess.rounds } };
    case 'guessPromptsSet':
      return { ...s, guess: { ...s.guess, prompts: a.prompts } };
    case 'guessMade':
      return { ...s, guess: { ...s.guess, pending: null, rounds: [...s.guess.rounds, a.round] } };
    case 'plainTextToggled':
      return { ...s, plainText: { ...s.plainText, on: a.on } };
    case 'plainTextDecoded':
      return { ...s, plainText: { ...s.plainText, runId: a.runId, steps: a.steps, text: a.text } };
    case 'forcedText':
      return { ...s, forced: a.forced, picked: a.forced ? a.forced.ids[0] : s.forced ? null : s.picked };
    case 'candidatePicked':
      return { ...s, picked: a.id };
    case 'chatCleared':
      return { ...s, shown: { ...s.shown, chat: null }, selected: s.setup.mode === 'chat' ? null : s.selected, picked: null };
    case 'modelLoaded':
      // Token ids belong to one tokenizer: another model's runs cannot be shown or continued.
      return a.keepRuns
        ? { ...s, model: a.model, backend: a.backend }
        : { ...s, model: a.model, backend: a.backend, runs: [], shown: { complete: null, chat: null }, selected: null, picked: null, labels: {}, logitsHeld: [] };
    case 'messageShown':
      return { ...s, message: a.message };
    case 'noticeAdded': {
      // Lasting notes are capped: the oldest go, and the page says how many (render.ts).
      const notices = [...s.notices, a.text];
      const drop = Math.max(0, notices.length - MAX_NOTICES);
      return { ...s, notices: notices.slice(drop), noticesDropped: s.noticesDropped + drop };
    }
    case 'promptCoverageSet':
      return { ...s, promptCoverage: a.coverage };
    case 'labelsLearned':
      return { ...s, labels: learned(s.labels, a.labels) };
    case 'offlineChanged':
      return { ...s, offline: { ...s.offline, ...a.patch } };
    case 'runsRestored':
      // Only into an empty page (a reload, or this model picked again): restored runs never mix with new ones.
      return s.runs.length ? s : { ...s, runs: a.runs, shown: a.shown, selected: null, picked: null };
    case 'runsCleared':
      if (busy(s)) return s;
      return { ...s, runs: [], shown: { complete: null, chat: null }, selected: null, picked: null, forced: null, logitsHeld: [], plainText: { on: s.plainText.on, runId: null, steps: 0, text: '' }, guess: { ...s.guess, pending: null } };
    case 'runsSaved':
      return { ...s, saved: { runs: a.runs.length, steps: a.runs.reduce((n, r) => n + r.steps.length, 0) } };
    case 'recomputeQueued':
      return { ...s, recomputeQueued: a.at };
    case 'logitsRecomputed': {
      const run = s.runs[a.runId - 1];
      if (!run?.steps[a.step] || run.steps[a.step].logits) return s;
      const steps = run.steps.map((x, i) => (i === a.step ? { ...x, logits: a.logits, top: a.top && a.top.n > x.top.n ? a.top : x.top } : x));
      return { ...s, runs: s.runs.map((r) => (r.id === a.runId ? { ...r, steps } : r)) };
    }
  }
}

// ---------- reading the state ----------

export function runById(s: AppState, id: number | null | undefined): Run | null {
  return id ? (s.runs[id - 1] ?? null) : null;
}

export function shownRun(s: AppState): Run | null {
  return runById(s, s.shown[s.setup.mode]);
}

export function busy(s: AppState): boolean {
  return s.job.kind !== 'idle';
}

/** May the learner start a run now? Yes when idle, or over the app's own quiet job (the worker queues the run behind it). */
export function canStart(s: AppState): boolean {
  return s.job.kind === 'idle' || (s.job.kind === 'tool' && !!s.job.quiet);
}

/** The tokens the model had read when it produced step `step` of `run`. */
export function contextIds(run: Run, step: number): number[] {
  return [...run.promptIds, ...run.steps.slice(0, step).map((x) => x.id)];
}

/** Every token of a run: prompt, then generated. */
export function allIds(run: Run): number[] {
  return contextIds(run, run.steps.length);
}

/** A chat run's conversation as shown: its earlier turns, then its own. */
export function conversationOf(run: Run): Turn[] {
  return [...run.history, { user: run.prompt, runId: run.id }];
}

/** Has this run ended in a way that another token cannot follow (end of text or of the turn, or a full context)? */
export function ended(run: Run): boolean {
  const r = run.summary?.stopReason;
  return r === 'eos' || r === 'endOfTurn' || r === 'contextFull';
}

/**
 * What "Export run (JSON)" saves: the shown run (a chat: every turn of its conversation) with the model, the
 * backend, the setup and every step record except its logits; null when nothing is shown. A step whose
 * logits the page let go holds its first KEPT_CANDIDATES candidates only (`topComplete: false`); a label
 * the page has not learned (a run restored from an earlier visit) is null.
 */
export function runExport(s: AppState): object | null {
  const run = shownRun(s);
  if (!run) return null;
  const runs = run.mode === 'chat' ? conversationOf(run).map((turn) => runById(s, turn.runId)!) : [run];
  return {
    model: s.model?.name,
    backend: s.backend?.backend,
    setup: s.setup,
    samplingStages: STAGES.map((st) => st.name), // the order every step's `stages` and `stageProbs` follow
    runs: runs.map((r) => ({ id: r.id, prompt: r.prompt, promptIds: r.promptIds, seed: r.seed, parent: r.parent, summary: r.summary, steps: r.steps.map(({ logits: _omit, ...rest }) => ({ ...rest, top: unpackTop(rest.top).map((c) => ({ ...c, token: s.labels[c.id] ?? null })), topComplete: rest.top.n > KEPT_CANDIDATES })) })),
  };
}
