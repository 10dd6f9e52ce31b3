// The input panel's controls: each edit becomes a named state change, checked first. A value out of
// range is reported and the last good one kept in the state (the box keeps what was typed, so nothing
// the learner wrote is lost while they fix it). Buttons call the app's actions.
import { LIMITS, parseSetting, type SettingKey } from '../sampling/limits.ts';
import { bareName, lang, t } from './i18n/index.ts';
import type { Layout } from './layout.ts';
import type { Action, AppState, Mode } from './state.ts';
import { guessPromptsFor } from './guessGame.ts';
import type { Setup } from './urlState.ts';

export interface ControlActions {
  state(): AppState;
  dispatch(a: Action): void;
  error(message: string): void;
  generate(single: boolean): void;
  send(): void;
  stop(): void;
  setMode(mode: Mode): void;
  continueFromHere(): void;
  /** The learner asked to see their own text as the next token(s) at the selected step. */
  forceText(text: string): void;
  exportRun(): void;
  exportChart(): void;
  promptTyped(): void;
}

export function wireControls(u: Layout, a: ControlActions): void {
  const set = (patch: Partial<Setup>) => a.dispatch({ type: 'setupChanged', patch });
  // Checked by the same rule as the link, the CLI and the engine (sampling/limits.ts).
  const whole = (el: HTMLInputElement, key: SettingKey, name: () => string) =>
    el.addEventListener('input', () => {
      const n = parseSetting(key, el.value);
      if (n === null) return a.error(t().wholeNumber(name(), LIMITS[key].min, LIMITS[key].max, a.state().setup[key]));
      set({ [key]: n });
    });
  // A stage's number box is a whole number (top-k); a slider cannot leave its stage's range.
  for (const { stage, input } of u.stageControls.values()) {
    if (stage.input.kind === 'number') whole(input, stage.name, () => bareName(t().stageField(stage.name)));
    else input.addEventListener('input', () => set({ [stage.name]: Number(input.value) }));
  }
  whole(u.seed, 'seed', () => t().seed);
  whole(u.maxTokens, 'maxTokens', () => t().maxTokens);
  u.randomSeed.addEventListener('input', () => set({ randomSeed: u.randomSeed.checked }));
  u.pace.addEventListener('input', () => set({ delayMs: Number(u.pace.value) }));
  let debounce = 0;
  u.prompt.addEventListener('input', () => {
    set({ prompt: u.prompt.value });
    clearTimeout(debounce);
    debounce = window.setTimeout(a.promptTyped, 150);
  });
  u.message.addEventListener('input', () => set({ message: u.message.value }));

  u.completeBtn.addEventListener('click', () => a.setMode('complete'));
  u.chatBtn.addEventListener('click', () => a.setMode('chat'));
  u.generate.addEventListener('click', () => a.generate(false));
  u.nextToken.addEventListener('click', () => a.generate(true));
  u.send.addEventListener('click', () => a.send());
  u.stop.addEventListener('click', () => a.stop());
  u.clearChat.addEventListener('click', () => a.dispatch({ type: 'chatCleared' }));
  u.continueBtn.addEventListener('click', () => a.continueFromHere());
  u.guessMode.addEventListener('change', () => a.dispatch({ type: 'guessModeSet', on: u.guessMode.checked }));
  // A fact offered for the guessing game becomes the prompt (the button's index into the state's list).
  u.guessPrompts.addEventListener('click', (e) => {
    const i = (e.target as HTMLElement).closest<HTMLElement>('button[data-index]')?.dataset.index;
    const p = i === undefined ? undefined : guessPromptsFor(a.state().guess.prompts, lang())[Number(i)];
    if (!p) return;
    set({ prompt: p.text });
    a.promptTyped();
  });
  u.plainToggle.addEventListener('click', () => a.dispatch({ type: 'plainTextToggled', on: !a.state().plainText.on }));
  u.forceForm.addEventListener('submit', (e) => {
    e.preventDefault();
    a.forceText(u.forceInput.value);
  });
  // Keyboard submits; a held key repeats, but only its first press counts.
  u.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!e.repeat) a.generate(false);
    }
  });
  u.message.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      if (!e.repeat) a.send();
    }
  });
  u.copyLink.addEventListener('click', () => {
    if (!navigator.clipboard) return a.error(t().clipboard);
    navigator.clipboard.writeText(location.href).then(
      () => a.dispatch({ type: 'messageShown', message: { kind: 'notice', text: t().linkCopied } }),
      () => a.error(t().clipboard),
    );
  });
  u.exportRun.addEventListener('click', a.exportRun);
  u.exportChart.addEventListener('click', a.exportChart);
}
