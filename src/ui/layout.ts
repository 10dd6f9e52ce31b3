// The page's static structure. Accessible names here are what learners' screen readers, the
// browser tests and teachers' scripts use: keep them stable. Every string comes from the i18n
// dictionaries and follows the language switch.
import type { TokenView } from '../worker/protocol.ts';
import { clear, h } from './dom.ts';
import { BUCKET_LEGEND, promptChips } from './tokens.ts';
import { bareName, label, lang, type Lang } from './i18n/index.ts';
import type { Dict } from './i18n/en.ts';
import { STAGES, type Stage, type StageName } from '../sampling/stages.ts';

type Text = (d: Dict) => string;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined>, text: Text) => label(h(tag, attrs), text);
const named = <E extends Element>(e: E, text: Text) => label(e, text, 'aria-label');

export function buildLayout(root: HTMLElement) {
  // Filled with the engine's own diagnostic (technical, not translated) once a backend is chosen.
  const backend = named(h('span', { role: 'status', id: 'backend', translate: 'no' }), (d) => d.backendLabel);
  const perf = named(h('span', { id: 'perf' }), (d) => d.speedLabel);
  const modelInfo = h('span', { id: 'model-info' });
  // Threads and the offline copy, in plain words (render.ts).
  const offlineInfo = named(h('span', { id: 'offline' }), (d) => d.offlineLabel);
  const progress = named(h('progress', { id: 'load-progress', max: 1, value: 0 }), (d) => d.modelDownload);
  const progressText = h('span', { id: 'load-text' });
  const loadBox = h('div', { class: 'load-box' }, progress, progressText);
  const language = named(
    h('select', { id: 'language' }, h('option', { value: 'en', lang: 'en', translate: 'no' }, 'English'), h('option', { value: 'zh', lang: 'zh-CN' }, '简体中文')),
    (d) => d.language,
  );
  language.value = lang();

  const completeBtn = el('button', { type: 'button', 'aria-pressed': 'true', class: 'mode' }, (d) => d.complete);
  const chatBtn = el('button', { type: 'button', 'aria-pressed': 'false', class: 'mode' }, (d) => d.chat);

  const prompt = label(named(h('textarea', { id: 'prompt', rows: 4, translate: 'no' }), (d) => d.prompt), (d) => d.promptPlaceholder, 'placeholder');
  const message = label(named(h('textarea', { id: 'message', rows: 3, translate: 'no' }), (d) => d.message), (d) => d.messagePlaceholder, 'placeholder');
  const generate = el('button', { type: 'button', class: 'primary' }, (d) => d.generate);
  const nextToken = el('button', { type: 'button' }, (d) => d.nextToken);
  const send = el('button', { type: 'button', class: 'primary' }, (d) => d.send);
  const stop = el('button', { type: 'button', disabled: true }, (d) => d.stop);
  const stopHome = (mode: 'complete' | 'chat') => {
    const row = (mode === 'chat' ? chatBox : completeBox).querySelector('.buttons')!;
    if (stop.parentElement !== row) row.append(stop);
  };
  const clearChat = el('button', { type: 'button' }, (d) => d.newChat);
  // The guessing game: each Next token stays hidden until the learner has guessed it.
  const guessMode = h('input', { type: 'checkbox', class: 'guess-mode' }) as HTMLInputElement;
  const guessLabel = h('label', { class: 'inline guess-label' }, guessMode, ' ', el('span', {}, (d) => d.guessMode));
  // While guessing: a few of the model's own facts to continue, in the interface's language (render.ts).
  const guessPrompts = h('div', { class: 'guess-prompts', hidden: true });
  // Stop sits beside what it stops (disabled, so not in the way, until a run starts).
  const completeBox = h('div', { class: 'input-box' }, prompt, h('div', { class: 'buttons' }, generate, nextToken, stop), guessPrompts);
  const chatBox = h('div', { class: 'input-box', hidden: true }, message, h('div', { class: 'buttons' }, send, clearChat));

  const field = (text: Text, input: HTMLElement, out?: HTMLElement) => h('label', { class: 'field' }, el('span', {}, text), input, out);
  // One control per sampling stage, as the stage describes it (sampling/chain/*.ts: `input`, `limit`, `label`).
  const stageControls = new Map<StageName, StageControl>(STAGES.map((s) => [s.name, stageControl(s)]));
  const stageFields = (place: 'first' | 'more') =>
    STAGES.filter((s) => s.input.place === place).map((s) => {
      const c = stageControls.get(s.name)!;
      return field((d) => d.stageField(s.name), c.input, c.out ?? undefined);
    });
  const seed = named(h('input', { type: 'number', min: 0, step: 1 }), (d) => d.seed);
  const randomSeed = named(h('input', { type: 'checkbox' }), (d) => d.randomSeed);
  const maxTokens = named(h('input', { type: 'number', min: 1, max: 1000, step: 1 }), (d) => d.maxTokens);
  const pace = named(
    h('select', {}, el('option', { value: '0' }, (d) => d.fullSpeed), el('option', { value: '250' }, (d) => d.slowMotion), el('option', { value: '1000' }, (d) => d.verySlow)),
    (d) => d.speed,
  );
  // The first screen holds the two settings that matter most; the rest wait one click away, in the
  // "More settings" drawer below, grouped (the sampling stages keep pipeline order: sampling/stages.ts).
  const controls = h('fieldset', { class: 'controls' }, el('legend', {}, (d) => d.sampling), ...stageFields('first'));
  const moreSampling = h(
    'fieldset',
    { class: 'controls more-sampling' },
    el('legend', {}, (d) => d.moreSampling),
    ...stageFields('more'),
    h('div', { class: 'field seed' }, field((d) => d.seed, seed), h('label', { class: 'check' }, randomSeed, el('span', {}, (d) => d.random))),
    field((d) => d.maxTokens, maxTokens),
    h('label', { class: 'field' }, el('span', {}, (d) => d.speed), pace),
    guessLabel,
  );

  const promptTokens = named(h('div', { class: 'chips', translate: 'no' }), (d) => d.promptTokens);
  const promptTokensBox = h('details', { class: 'prompt-tokens' }, el('summary', {}, (d) => d.promptTokens), promptTokens);
  // Said when the model's training text lacked the script of what is being written (ui/coverage.ts).
  const coverageNote = h('p', { class: 'coverage-note', role: 'note', hidden: true });

  const copyLink = el('button', { type: 'button' }, (d) => d.copyLink);
  const exportRun = el('button', { type: 'button' }, (d) => d.exportRun);
  const exportChart = el('button', { type: 'button' }, (d) => d.exportChart);
  const share = h('div', { class: 'buttons share' }, copyLink, exportRun, exportChart);

  const output = h('div', { class: 'output-text', id: 'output' });
  // The last run's speed and why it stopped, under the text it produced.
  const perfBox = h('p', { class: 'status perf-line' }, perf);
  const legend = named(
    h(
      'div',
      { class: 'legend' },
      el('span', {}, (d) => d.legendTitle),
      ...BUCKET_LEGEND.map((t, i) => h('span', { class: `chip p${i}` }, t)),
      el('span', { class: 'chip low-conf' }, (d) => d.unsureLegend),
    ),
    (d) => d.colourLegend,
  );
  // The run tree: every run of this mode, branches under the run they branched from.
  const runTree = h('div', { class: 'run-tree' });
  const runBox = named(h('nav', { class: 'runs', hidden: true }, el('h3', {}, (d) => d.runs), runTree), (d) => d.runs);
  const contextGauge = named(h('meter', { id: 'context-gauge', min: 0, max: 1, value: 0 }), (d) => d.contextLabel);
  const contextText = h('span', { class: 'hint' });
  const contextBox = h('div', { class: 'context-box', hidden: true }, contextGauge, contextText);
  // The shown run as plain, selectable text (decoded by the tokenizer), beside the token buttons.
  const plainToggle = el('button', { type: 'button', class: 'plain-toggle', 'aria-pressed': 'false' }, (d) => d.plainText);
  // Runs are kept across reloads (runStore.ts); this forgets them.
  const clearRuns = el('button', { type: 'button', hidden: true }, (d) => d.clearRuns);
  const plainBox = named(h('pre', { class: 'plain-text', hidden: true, translate: 'no', tabindex: 0 }), (d) => d.plainText);
  const outputRegion = named(h('section', { class: 'panel output', 'aria-busy': 'false' }, el('h2', {}, (d) => d.output), legend, contextBox, h('div', { class: 'buttons' }, plainToggle, clearRuns), output, plainBox, perfBox, runBox), (d) => d.output);

  const stepPanel = h('div', { id: 'step-panel' });
  const continueBtn = el('button', { type: 'button', disabled: true, class: 'primary' }, (d) => d.continueHere);
  // Force a token: the learner's own text as the next token(s) at the selected step.
  const forceInput = label(h('input', { type: 'text', class: 'force-text', maxlength: 200, autocomplete: 'off', spellcheck: 'false' }), (d) => d.forceLabel, 'aria-label');
  const forceBtn = el('button', { type: 'submit', disabled: true }, (d) => d.forceCheck);
  const forceForm = h('form', { class: 'force', hidden: true }, h('label', { class: 'inline' }, el('span', {}, (d) => d.forceLabel), ' ', forceInput), ' ', forceBtn);
  // Continue right after the candidates: a pick, then one Tab to continue from it.
  const distRegion = named(h('section', { class: 'panel dist' }, el('h2', {}, (d) => d.distribution), stepPanel, h('div', { class: 'buttons' }, continueBtn), forceForm), (d) => d.distribution);

  const error = h('div', { role: 'alert', class: 'error', id: 'error' });
  // Lasting notes (corrected link values, dropped chat turns): polite, not alarming.
  const notice = h('div', { role: 'status', class: 'notice', id: 'notice', 'aria-live': 'polite' });
  // What the loaded model is, in plain words, with its card one click away.
  const modelAbout = h('p', { class: 'model-about', id: 'model-about' });
  const modelSlot = h('div', { class: 'model-slot' });
  // A newer deploy has installed: offered, never forced (a reload would interrupt the learner).
  const updateReload = el('button', { type: 'button', class: 'primary' }, (d) => d.updateReload);
  const updateBox = h('div', { class: 'notice update', role: 'status', hidden: true }, el('span', {}, (d) => d.updateReady), ' ', updateReload);

  // One sentence on what runs where (render.ts), with the engine's own diagnostic in the drawer.
  const statusLine = named(h('p', { class: 'status-line', id: 'status-line', role: 'status' }), (d) => d.statusLabel);
  // Everything past the first screen's few controls, grouped and labelled, one click away.
  const group = (title: Text, ...children: HTMLElement[]) => h('section', { class: 'more-group' }, el('h3', {}, title), ...children);
  const more = h(
    'details',
    { class: 'more', id: 'more' },
    el('summary', {}, (d) => d.moreSummary),
    moreSampling,
    group((d) => d.modelGroup, modelSlot, modelAbout),
    group((d) => d.engineGroup, h('div', { class: 'status' }, modelInfo, h('br'), backend, h('br'), offlineInfo)),
    promptTokensBox,
    share,
  );

  root.append(
    h(
      'header',
      {},
      h('div', { class: 'title-row' }, h('h1', { translate: 'no' }, 'NextToken'), el('p', { class: 'tagline' }, (d) => d.tagline), language),
    ),
    viewsNav(),
    updateBox,
    error,
    notice,
    h(
      'main',
      {},
      named(
        h('section', { class: 'panel input' }, named(h('div', { class: 'modes', role: 'group' }, completeBtn, chatBtn), (d) => d.modeGroup), completeBox, chatBox, coverageNote, controls, statusLine, loadBox, more),
        (d) => d.input,
      ),
      outputRegion,
      distRegion,
    ),
  );
  return {
    backend, perf, statusLine, more, stopHome, modelInfo, offlineInfo, updateBox, updateReload, clearRuns, modelSlot, progress, progressText, loadBox, language, completeBtn, chatBtn, prompt, message, generate, nextToken, guessMode, guessPrompts, send, stop, clearChat,
    completeBox, chatBox, coverageNote, pace, stageControls, controls, seed, randomSeed, maxTokens, promptTokens, copyLink, exportRun,
    promptTokensView: (views: TokenView[]) => {
      clear(promptTokens);
      promptTokens.append(...promptChips(views));
    },
    exportChart, output, runTree, runBox, contextBox, contextGauge, contextText, outputRegion, plainToggle, plainBox, stepPanel, continueBtn, forceForm, forceInput, forceBtn, error, notice, modelAbout,
  };
}

export type Layout = ReturnType<typeof buildLayout>;

/** A sampling stage's control: the input, and beside a slider the value it is at. */
export interface StageControl {
  stage: Stage<StageName>;
  input: HTMLInputElement;
  out: HTMLOutputElement | null;
}

function stageControl(stage: Stage<StageName>): StageControl {
  const { kind, step } = stage.input;
  const { min, minIncluded, max } = stage.limit;
  const attrs = kind === 'range' ? { type: 'range', min: minIncluded ? min : min + step, max, step } : { type: 'number', min, step };
  const input = named(h('input', attrs) as HTMLInputElement, (d) => bareName(d.stageField(stage.name)));
  return { stage, input, out: kind === 'range' ? (h('output', {}) as HTMLOutputElement) : null };
}
export type { Lang };

/** Navigation to every view (most are below the fold): a sticky row of buttons that bring a view into sight and focus its heading. */
function viewsNav(): HTMLElement {
  const views: [string, Text][] = [
    ['section.panel.input', (d) => d.input],
    ['section.panel.output', (d) => d.output],
    ['section.panel.dist', (d) => d.distribution],
    ['section.panel.picture', (d) => d.arch.pictureTitle],
    ['section.panel.inside', (d) => d.inside],
    ['section.panel.lens', (d) => d.lens],
    ['section.panel.experiments', (d) => d.experiments],
    ['section.panel.replay', (d) => d.replay],
    ['section.panel.finetune', (d) => d.finetune],
    ['section.panel.precision', (d) => d.precision],
  ];
  const goTo = (selector: string) => {
    const target = document.querySelector<HTMLElement>(selector);
    if (!target) return;
    target.scrollIntoView({ block: 'start' });
    const heading = target.querySelector<HTMLElement>('h2') ?? target;
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  };
  return label(h('nav', { class: 'views-nav' }, ...views.map(([selector, name]) => label(h('button', { type: 'button', 'data-view': selector, onclick: () => goTo(selector) }), name))), (d) => d.viewsNav, 'aria-label');
}
