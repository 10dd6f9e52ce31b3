// The app state's named actions: the run tree, selection following the newest token, and what a
// branch records. Pure: no DOM, no engine.
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../src/engine/generate/generate.ts';
import { allIds, conversationOf, contextIds, initialState, MAX_NOTICES, reduce, runExport, shownRun, type AppState } from '../src/ui/state.ts';
import { guessPromptsFor, pickGuessPrompts } from '../src/ui/guessGame.ts';
import { DEFAULT_PROMPTS, DEFAULT_SETUP, readSetup } from '../src/ui/urlState.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { en } from '../src/ui/i18n/en.ts';
import { zh } from '../src/ui/i18n/zh.ts';
import { samplingSettings } from '../src/sampling/stages.ts';
import { packTop, unpackTop } from '../src/sampling/topColumns.ts';
import { withColumns } from '../src/ui/runStore.ts';

const step = (id: number, token = `t${id}`): StepRecord =>
  ({ id, token, step: 0, position: 0, prob: 1, rawProb: 1, logprob: 0, entropy: 0, draw: null, kept: 1, stages: [], top: packTop([], 0), settings: samplingSettings({ temperature: 0, topK: 0, topP: 1 }) }) as StepRecord;
const settings = samplingSettings({ temperature: 0, topK: 0, topP: 1 });

function withRun(s: AppState, prompt: string, promptIds: number[], ids: number[]): AppState {
  s = reduce(s, { type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
  s = reduce(s, { type: 'runCreated', run: { mode: 'complete', prompt, history: [], dropped: [], promptIds, seed: 1, settings, parent: null } });
  const id = s.runs.length;
  for (const x of ids) s = reduce(s, { type: 'stepAdded', runId: id, record: step(x) });
  return reduce(s, { type: 'jobEnded', kind: 'generate' });
}

describe('app state', () => {
  it('the export holds the shown run, the stage order its records follow, and every step without its logits', () => {
    let s = initialState({ ...DEFAULT_SETUP });
    expect(runExport(s)).toBeNull();
    s = withRun(s, 'The capital of France is', [1, 2, 3], [10, 11]);
    s = reduce(s, { type: 'stepAdded', runId: 1, record: { ...step(12), logits: new Float32Array(4) } });
    const out = runExport(s) as { samplingStages: string[]; setup: { prompt: string }; runs: { prompt: string; steps: Record<string, unknown>[] }[] };
    expect(out.samplingStages).toEqual(['repetitionPenalty', 'temperature', 'topK', 'topP', 'minP']);
    expect(out.runs.map((r) => r.prompt)).toEqual(['The capital of France is']);
    expect(out.runs[0].steps.map((x) => x.id)).toEqual([10, 11, 12]);
    expect(out.runs[0].steps.some((x) => 'logits' in x)).toBe(false);
    expect(JSON.parse(JSON.stringify(out)).runs[0].steps[2].stages).toEqual([]);
  });

  it('each run keeps its own prompt; showing a run shows that prompt, whatever the box says', () => {
    let s = initialState({ ...DEFAULT_SETUP });
    s = withRun(s, 'The capital of France is', [1, 2, 3], [10, 11, 12]);
    s = withRun(s, 'In the beginning', [4, 5], [20, 21]);
    s = reduce(s, { type: 'setupChanged', patch: { prompt: 'something else' } });
    expect(shownRun(s)!.prompt).toBe('In the beginning');
    s = reduce(s, { type: 'runShown', runId: 1 });
    expect(shownRun(s)!.prompt).toBe('The capital of France is');
    expect(allIds(shownRun(s)!)).toEqual([1, 2, 3, 10, 11, 12]);
    expect(contextIds(shownRun(s)!, 2)).toEqual([1, 2, 3, 10, 11]);
  });

  it('forced text stands for the pick at its step: it sets the pick to its first id, and another pick or another step drops it', () => {
    let s = initialState({ ...DEFAULT_SETUP });
    s = withRun(s, 'a', [1], [10, 11, 12]);
    s = reduce(s, { type: 'stepSelected', runId: 1, step: 1 });
    const forced = { text: ' the sea', ids: [262, 5417], labels: [' the', ' sea'] };
    s = reduce(s, { type: 'forcedText', forced });
    expect([s.forced, s.picked]).toEqual([forced, 262]);
    s = reduce(s, { type: 'candidatePicked', id: 99 });
    expect([s.forced, s.picked]).toEqual([null, 99]);
    s = reduce(s, { type: 'forcedText', forced });
    s = reduce(s, { type: 'stepSelected', runId: 1, step: 2 });
    expect([s.forced, s.picked]).toEqual([null, null]);
    s = reduce(s, { type: 'forcedText', forced });
    s = reduce(s, { type: 'forcedText', forced: null });
    expect([s.forced, s.picked]).toEqual([null, null]);
  });

  it('the guessing game: in guess mode a new Complete-mode token is pending until a guess is made; turning the mode on starts a new score', () => {
    let s = initialState({ ...DEFAULT_SETUP });
    s = reduce(s, { type: 'guessModeSet', on: true });
    s = withRun(s, 'a', [1], [10]);
    expect(s.guess.pending).toEqual({ runId: 1, step: 0 });
    const round = { runId: 1, step: 0, guessId: 10, guessLabel: 'x', rawProb: 0.5, rank: 1, chosenId: 10, chosenLabel: 'x', chosenProb: 0.5 };
    s = reduce(s, { type: 'guessMade', round });
    expect([s.guess.pending, s.guess.rounds]).toEqual([null, [round]]);
    s = reduce(s, { type: 'guessModeSet', on: false });
    s = withRun(s, 'b', [2], [20]);
    expect(s.guess.pending).toBeNull(); // mode off: nothing is hidden
    s = reduce(s, { type: 'guessModeSet', on: true });
    expect(s.guess.rounds).toEqual([]);
  });

  it('the selection follows the newest token while generating, unless the learner selected an older one', () => {
    let s = initialState({ ...DEFAULT_SETUP });
    s = reduce(s, { type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    s = reduce(s, { type: 'runCreated', run: { mode: 'complete', prompt: 'a', history: [], dropped: [], promptIds: [1], seed: 1, settings, parent: null } });
    s = reduce(s, { type: 'stepAdded', runId: 1, record: step(5) });
    s = reduce(s, { type: 'stepAdded', runId: 1, record: step(6) });
    expect(s.selected).toEqual({ runId: 1, step: 1 });
    s = reduce(s, { type: 'stepSelected', runId: 1, step: 0 });
    s = reduce(s, { type: 'stepAdded', runId: 1, record: step(7) });
    expect(s.selected).toEqual({ runId: 1, step: 0 });
    expect(s.runs[0].steps.map((x) => x.step)).toEqual([0, 1, 2]);
  });

  it('a branch records its parent run, step and both tokens; a chat turn carries the conversation before it', () => {
    let s = withRun(initialState({ ...DEFAULT_SETUP }), 'p', [1], [10, 11, 12]);
    s = reduce(s, { type: 'runCreated', run: { ...s.runs[0], steps: [step(10), step(99, ' rate')], parent: { runId: 1, step: 1, pickedId: 99, pickedToken: ' rate', replacedToken: 't11' } } });
    expect(s.runs[1].parent).toEqual({ runId: 1, step: 1, pickedId: 99, pickedToken: ' rate', replacedToken: 't11' });
    expect(s.runs[1].prompt).toBe('p');
    s = reduce(s, { type: 'modeSet', mode: 'chat' });
    s = reduce(s, { type: 'runCreated', run: { mode: 'chat', prompt: 'hi', history: [], dropped: [], promptIds: [7], seed: 1, settings, parent: null } });
    s = reduce(s, { type: 'runCreated', run: { mode: 'chat', prompt: 'again', history: conversationOf(s.runs[2]), dropped: [], promptIds: [7, 8], seed: 1, settings, parent: null } });
    expect(conversationOf(shownRun(s)!).map((t) => t.user)).toEqual(['hi', 'again']);
    expect(s.shown).toEqual({ complete: 2, chat: 4 });
  });

  it('a link with invalid values is corrected, and each correction says what was given and what is used', () => {
    const { setup, corrections } = readSetup('?t=-5&k=abc&max=0&p=0.5');
    expect(setup.temperature).toBe(DEFAULT_SETUP.temperature);
    expect(setup.topK).toBe(0);
    expect(setup.topP).toBe(0.5);
    expect(corrections).toEqual([
      { key: 't', given: '-5', used: String(DEFAULT_SETUP.temperature), rule: '0 to 2 (0 = always the most probable token)' },
      { key: 'k', given: 'abc', used: '0', rule: 'a whole number from 0 to 1000000 (0 = off)' },
      { key: 'max', given: '0', used: String(DEFAULT_SETUP.maxTokens), rule: 'a whole number from 1 to 1000' },
    ]);
  });

  it('the first prompt and the chat suggestion are in the interface language, and are facts the embedded model saw (facts.json)', () => {
    type Fact = { lang: string; seen: boolean; prompts: { completion: string; question: string } };
    const facts = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'models', 'nexttoken-3m', 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;
    for (const [lang, dict] of [['en', en], ['zh', zh]] as const) {
      const prompt = readSetup('', lang).setup.prompt;
      expect(prompt).toBe(DEFAULT_PROMPTS[lang]);
      const fact = facts.find((f) => f.lang === lang && f.prompts.completion === prompt);
      expect(fact?.seen, `${lang}: "${prompt}" is a fact the model saw`).toBe(true);
      expect(dict.messagePlaceholder).toContain(fact!.prompts.question);
    }
    expect(readSetup('', 'zh').setup.prompt).toMatch(/\p{Script=Han}/u);
    expect(readSetup('?prompt=Hello', 'zh').setup.prompt).toBe('Hello'); // a link's prompt wins
  });

  it('lasting notes are capped: the oldest go and the count of dropped ones is kept', () => {
    let s = initialState(DEFAULT_SETUP);
    for (let i = 1; i <= MAX_NOTICES + 3; i++) s = reduce(s, { type: 'noticeAdded', text: `note ${i}` });
    expect(s.notices.length).toBe(MAX_NOTICES);
    expect(s.notices[0]).toBe('note 4');
    expect(s.notices[MAX_NOTICES - 1]).toBe(`note ${MAX_NOTICES + 3}`);
    expect(s.noticesDropped).toBe(3);
  });

  it('the guessing game offers seen facts first, then one held out, per language, in the interface language when the model has it', () => {
    const q = (lang: 'en' | 'zh', seen: boolean, completion: string) => ({ lang, seen, completion });
    const prompts = pickGuessPrompts([q('en', false, 'E0'), q('en', true, 'E1'), q('zh', true, 'Z1'), q('en', true, 'E2'), q('en', true, 'E3'), q('zh', false, 'Z0')]);
    expect(prompts).toEqual([{ lang: 'en', text: 'E1' }, { lang: 'en', text: 'E2' }, { lang: 'en', text: 'E0' }, { lang: 'zh', text: 'Z1' }, { lang: 'zh', text: 'Z0' }]);
    expect(guessPromptsFor(prompts, 'zh').map((p) => p.text)).toEqual(['Z1', 'Z0']);
    // An English-only model offers its English facts to a Chinese interface rather than nothing.
    expect(guessPromptsFor(prompts.filter((p) => p.lang === 'en'), 'zh').map((p) => p.text)).toEqual(['E1', 'E2', 'E0']);
    const s = reduce(reduce(initialState(DEFAULT_SETUP), { type: 'guessPromptsSet', prompts }), { type: 'guessModeSet', on: true });
    expect(s.guess.prompts).toEqual(prompts);
  });
});

describe('runs saved before step records were compact (IndexedDB shape 1)', () => {
  it('come back with their candidates as columns, every number as saved', () => {
    const candidates = [
      { id: 7, token: ' the', rawProb: 0.5, temperedProb: 0.625, prob: 0.75, stageProbs: [0.625, 0.75] },
      { id: 3, token: ' a', rawProb: 0.25, temperedProb: 0.125, prob: 0.25, stageProbs: [0.125, 0.25] },
    ];
    const saved = { ...step(7), stages: [{ name: 'temperature', value: 0.8, kept: 10, chosen: 0.625 }, { name: 'topK', value: 2, kept: 2, chosen: 0.75 }], top: candidates } as unknown as StepRecord;
    const run = { id: 1, mode: 'complete', prompt: 'x', history: [], dropped: [], promptIds: [1], seed: 1, settings, parent: null, steps: [saved], summary: null, reply: null } as unknown as Parameters<typeof withColumns>[0];
    const back = withColumns(run).steps[0];
    expect(back.top.n).toBe(2);
    expect(unpackTop(back.top)).toEqual(candidates.map(({ token: _label, ...c }) => c));
    expect(() => withColumns({ ...run, steps: [{ ...saved, top: 'damaged' as never }] })).toThrow();
  });
});
