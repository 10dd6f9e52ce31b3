// The guessing game's data: which sentences it offers a learner to continue, and one scored round. The
// rounds live in the app state (state.ts); the form and the score are drawn by the step panel.

/** A sentence the guessing game offers to continue: one of the model's own facts, in its language. */
export interface GuessPrompt {
  lang: 'en' | 'zh';
  text: string;
  /** A story opening (a model with no facts to ask, stories15M) rather than a fact to complete. */
  story?: boolean;
}

/** Up to `n` per language: facts the model saw (it should complete them), then held-out ones (it cannot). */
export function pickGuessPrompts(questions: { lang: 'en' | 'zh'; seen: boolean | null; completion: string }[], n = 3): GuessPrompt[] {
  const out: GuessPrompt[] = [];
  for (const lang of ['en', 'zh'] as const) {
    const mine = questions.filter((q) => q.lang === lang);
    const seen = mine.filter((q) => q.seen !== false).slice(0, n - 1);
    const unseen = mine.filter((q) => q.seen === false).slice(0, 1);
    out.push(...[...seen, ...unseen].map((q) => ({ lang, text: q.completion })));
  }
  return out;
}

/** The prompts to offer in the interface's language; the English ones where the model has none in it. */
export function guessPromptsFor(prompts: GuessPrompt[], uiLang: 'en' | 'zh'): GuessPrompt[] {
  const mine = prompts.filter((p) => p.lang === uiLang);
  return mine.length ? mine : prompts.filter((p) => p.lang === 'en');
}

/** One round of the guessing game: the learner's guess for a step, scored by the model's own distribution there. */
export interface GuessRound {
  runId: number;
  step: number;
  guessId: number;
  guessLabel: string;
  rawProb: number; // the model's probability for the guess (T = 1)
  rank: number; // its rank in the model's distribution (1 = the favourite)
  chosenId: number;
  chosenLabel: string;
  chosenProb: number; // the model's probability for the token it drew
}
