// The page's static structure. Accessible names here are what learners' screen readers, the
// browser tests and teachers' scripts use: keep them stable.
import { h } from './dom.ts';

export function buildLayout(root: HTMLElement) {
  const backend = h('span', { role: 'status', 'aria-label': 'Backend', id: 'backend' }, 'starting…');
  const perf = h('span', { id: 'perf', 'aria-label': 'Generation speed' });
  const modelInfo = h('span', { id: 'model-info' });
  const progress = h('progress', { id: 'load-progress', max: 1, value: 0, 'aria-label': 'Model download' });
  const progressText = h('span', { id: 'load-text' }, 'Loading the model…');
  const loadBox = h('div', { class: 'load-box' }, progress, progressText);
  const modelSlot = h('div', { class: 'model-slot' });

  const completeBtn = h('button', { type: 'button', 'aria-pressed': 'true', class: 'mode' }, 'Complete');
  const chatBtn = h('button', { type: 'button', 'aria-pressed': 'false', class: 'mode' }, 'Chat');

  const prompt = h('textarea', { id: 'prompt', 'aria-label': 'Prompt', rows: 4, placeholder: 'Type the start of a text…' });
  const message = h('textarea', { id: 'message', 'aria-label': 'Message', rows: 3, placeholder: 'Ask the model something…' });
  const generate = h('button', { type: 'button', class: 'primary' }, 'Generate');
  const nextToken = h('button', { type: 'button' }, 'Next token');
  const send = h('button', { type: 'button', class: 'primary' }, 'Send');
  const stop = h('button', { type: 'button', disabled: true }, 'Stop');
  const clearChat = h('button', { type: 'button' }, 'New chat');
  const completeBox = h('div', { class: 'input-box' }, prompt, h('div', { class: 'buttons' }, generate, nextToken));
  const chatBox = h('div', { class: 'input-box', hidden: true }, message, h('div', { class: 'buttons' }, send, clearChat));

  const field = (label: string, input: HTMLInputElement, out?: HTMLElement) => h('label', { class: 'field' }, h('span', {}, label), input, out);
  const temperature = h('input', { type: 'range', min: 0, max: 2, step: 0.05, 'aria-label': 'Temperature' });
  const temperatureOut = h('output', {});
  const topK = h('input', { type: 'number', min: 0, step: 1, 'aria-label': 'Top-k' });
  const topP = h('input', { type: 'range', min: 0.01, max: 1, step: 0.01, 'aria-label': 'Top-p' });
  const topPOut = h('output', {});
  const seed = h('input', { type: 'number', min: 0, step: 1, 'aria-label': 'Seed' });
  const randomSeed = h('input', { type: 'checkbox', 'aria-label': 'New random seed each run' });
  const maxTokens = h('input', { type: 'number', min: 1, max: 1000, step: 1, 'aria-label': 'Max tokens' });
  const pace = h('select', { 'aria-label': 'Speed' }, h('option', { value: '0' }, 'full speed'), h('option', { value: '250' }, 'slow motion (¼ s per token)'), h('option', { value: '1000' }, 'very slow (1 s per token)'));
  const controls = h(
    'fieldset',
    { class: 'controls' },
    h('legend', {}, 'Sampling'),
    field('Temperature', temperature, temperatureOut),
    field('Top-k (0 = off)', topK),
    field('Top-p (1 = off)', topP, topPOut),
    h('div', { class: 'field seed' }, field('Seed', seed), h('label', { class: 'check' }, randomSeed, ' random')),
    field('Max tokens', maxTokens),
    h('label', { class: 'field' }, h('span', {}, 'Speed'), pace),
  );

  const promptTokens = h('div', { class: 'chips', 'aria-label': 'Prompt tokens' });
  const promptTokensBox = h('details', { class: 'prompt-tokens' }, h('summary', {}, 'Prompt tokens'), promptTokens);

  const copyLink = h('button', { type: 'button' }, 'Copy link');
  const exportRun = h('button', { type: 'button' }, 'Export run (JSON)');
  const exportChart = h('button', { type: 'button' }, 'Export chart (PNG)');
  const share = h('div', { class: 'buttons share' }, copyLink, exportRun, exportChart);

  const output = h('div', { class: 'output-text', id: 'output' });
  const legend = h(
    'div',
    { class: 'legend', 'aria-label': 'Colour legend' },
    'Colour = the model’s probability for the token (T = 1): ',
    ...['< 5%', '5–20%', '20–50%', '50–80%', '≥ 80%'].map((t, i) => h('span', { class: `chip p${i}` }, t)),
    h('span', { class: 'chip low-conf' }, 'dotted: high entropy (unsure)'),
  );
  const branches = h('select', { 'aria-label': 'Branch', id: 'branches' });
  const branchBox = h('label', { class: 'field branch', hidden: true }, h('span', {}, 'Branch'), branches);
  const outputRegion = h('section', { 'aria-label': 'Output', class: 'panel output' }, h('h2', {}, 'Output'), legend, branchBox, output);

  const stepPanel = h('div', { id: 'step-panel' });
  const continueBtn = h('button', { type: 'button', disabled: true, class: 'primary' }, 'Continue from here');
  const distRegion = h('section', { 'aria-label': 'Next-token distribution', class: 'panel dist' }, h('h2', {}, 'Next-token distribution'), stepPanel, h('div', { class: 'buttons' }, continueBtn));

  const error = h('div', { role: 'alert', class: 'error', id: 'error' });

  root.append(
    h('header', {}, h('h1', {}, 'NextToken'), h('p', { class: 'tagline' }, 'Watch a language model predict text, one token at a time.'), h('div', { class: 'status' }, modelInfo, ' · ', backend, ' · ', perf), modelSlot, loadBox),
    error,
    h(
      'main',
      {},
      h('section', { class: 'panel input', 'aria-label': 'Input' }, h('div', { class: 'modes', role: 'group', 'aria-label': 'Mode' }, completeBtn, chatBtn), completeBox, chatBox, h('div', { class: 'buttons' }, stop), controls, promptTokensBox, share),
      outputRegion,
      distRegion,
    ),
  );
  return {
    backend, perf, modelInfo, modelSlot, progress, progressText, loadBox, completeBtn, chatBtn, prompt, message, generate, nextToken, send, stop, clearChat,
    completeBox, chatBox, pace, temperature, temperatureOut, topK, topP, topPOut, seed, randomSeed, maxTokens, promptTokens, copyLink, exportRun,
    exportChart, output, branches, branchBox, stepPanel, continueBtn, error,
  };
}

export type Layout = ReturnType<typeof buildLayout>;
