// Drawing the page's fixed parts from the state: the controls, which buttons are available, the busy
// marks, the status line, messages, the chat's context gauge and what the model knows. Values are
// written into a control only when they differ (and never into the box the learner is typing in).
import type { ModelSource } from '../worker/protocol.ts';
import { modelFolder } from '../engine/load/modelUrl.ts';
import { h } from './dom.ts';
import { lang, t } from './i18n/index.ts';
import type { Layout } from './layout.ts';
import { EMBEDDED_CHAT_ID, EMBEDDED_ID, embeddedIdOf, embeddedUrls, STORIES_ID } from './models.ts';
import { allIds, busy, canStart, shownRun, type AppState } from './state.ts';
import { guessPromptsFor } from './guessGame.ts';
import { modelLacksScript } from './coverage.ts';

export function renderChrome(u: Layout, s: AppState, source: ModelSource | null): void {
  const d = t();
  const st = s.setup;
  writeValue(u.prompt, st.prompt);
  writeValue(u.message, st.message);
  for (const { stage, input, out } of u.stageControls.values()) {
    const value = st[stage.name];
    writeValue(input, String(value));
    // T = 0 says what it means: the most probable token, always.
    if (out) out.textContent = stage.kind === 'temperature' && stage.greedy(value) ? `${value}${d.greedySuffix}` : String(value);
  }
  writeValue(u.seed, String(st.seed));
  writeValue(u.maxTokens, String(st.maxTokens));
  writeValue(u.pace, String(st.delayMs));
  u.randomSeed.checked = st.randomSeed;

  const chat = st.mode === 'chat';
  u.completeBtn.setAttribute('aria-pressed', String(!chat));
  u.chatBtn.setAttribute('aria-pressed', String(chat));
  u.completeBox.hidden = chat;
  u.chatBox.hidden = !chat;
  u.stopHome(st.mode);
  // Shown once there is something to show: the first screen stays a prompt, two settings and Generate.
  const started = s.runs.length > 0 || s.job.kind === 'generate';
  (document.querySelector('nav.views-nav') as HTMLElement).hidden = !started;
  u.plainToggle.hidden = !started;

  // Busy: the moment a generation is asked for, Stop is offered and the start buttons are not.
  const generating = s.job.kind === 'generate';
  const isBusy = !canStart(s) || !s.model;
  u.stop.disabled = s.job.kind !== 'generate' || s.job.stopping;
  for (const b of [u.generate, u.nextToken, u.send]) b.disabled = isBusy;
  // Guessing: one token at a time, and the next only once this one is guessed.
  u.guessMode.checked = s.guess.on;
  if (s.guess.on) u.generate.disabled = true;
  if (s.guess.pending) u.nextToken.disabled = true;
  const offered = guessPromptsFor(s.guess.prompts, lang());
  u.guessPrompts.hidden = !s.guess.on || !offered.length;
  const key = [lang(), ...offered.map((p) => p.text)].join('\n');
  if (u.guessPrompts.dataset.key !== key) {
    u.guessPrompts.dataset.key = key;
    u.guessPrompts.replaceChildren(h('span', { class: 'hint' }, offered[0]?.story ? d.guessTryStory : d.guessTry), ...offered.map((p, i) => h('button', { type: 'button', 'data-index': i, translate: 'no', lang: p.lang === 'zh' ? 'zh-CN' : 'en' }, p.text)));
  }
  const sel = s.selected;
  u.continueBtn.disabled = isBusy || s.picked === null || !sel;
  // A token hidden for the guessing game shows nothing about itself, not even through a forced token.
  const hiddenStep = !!sel && s.guess.pending?.runId === sel.runId && s.guess.pending.step === sel.step;
  u.forceForm.hidden = !sel || hiddenStep;
  u.plainToggle.setAttribute('aria-pressed', String(s.plainText.on));
  u.plainBox.hidden = !s.plainText.on;
  if (u.plainBox.textContent !== s.plainText.text) u.plainBox.textContent = s.plainText.text; // model output: text, never HTML
  u.forceBtn.disabled = isBusy || !sel;
  u.outputRegion.setAttribute('aria-busy', String(generating));
  document.body.dataset.busy = String(busy(s));
  document.body.dataset.runCount = String(s.runs.length); // for scripts: runs created
  document.body.dataset.job = s.job.kind === 'generate' ? `generate:${s.job.phase}` : s.job.kind;

  // Status line: one plain sentence; the engine's own diagnostic in the drawer.
  const m = s.model;
  const b = s.backend;
  u.statusLine.textContent = !m || !b ? d.statusLoading(source ? sourceName(source) : '') : d.statusSentence({ model: m.name, backend: b.backend, threads: b.threads, software: b.softwareAdapter, how: b.how, unavailable: b.unavailable });
  u.backend.textContent = s.backend?.description ?? d.starting;
  u.modelInfo.textContent = m ? d.modelInfo({ name: m.name, params: (m.params / 1e6).toFixed(2), mb: (m.weightBytes / 1e6).toFixed(1), context: m.contextLength, engineMb: (m.engineBytes / 1e6).toFixed(1) }) + (m.dtype !== 'f32' ? d.modelInfoPrecision(d.precisionNames[m.dtype]) : '') : '';
  const p = s.perf;
  const rate = (r: number | null) => (r === null ? '–' : r.toFixed(1));
  u.perf.textContent =
    s.job.kind === 'generate' && s.job.phase === 'preparing'
      ? d.preparing
      : p
        ? d.perf(p.screenTokensPerSec === null ? null : d.rates(rate(p.screenTokensPerSec), p.tokensPerSec === null ? null : rate(p.tokensPerSec)), Math.round(p.ttftMs), p.stoppedBy ? d.stoppedBy[p.stoppedBy] : d.stopReasons[p.stop])
        : '';

  renderOffline(u, s);

  // The text's script, unknown to the model: said beside the text, with a model that knows it.
  const lacks = modelLacksScript(s.promptCoverage) && m;
  u.coverageNote.hidden = !lacks;
  u.coverageNote.textContent = lacks ? d.coverageNote(s.promptCoverage!.byteTokens, s.promptCoverage!.tokens, d.scriptNames[s.promptCoverage!.script ?? 'other'], m.name) : '';

  // Messages: an error (what went wrong and what to do), a notice, and lasting notes.
  u.error.textContent = s.message?.kind === 'error' ? s.message.text : '';
  u.notice.textContent = [s.noticesDropped ? d.noticesDropped(s.noticesDropped) : '', ...s.notices, s.message?.kind === 'notice' ? s.message.text : ''].filter(Boolean).join(' ');

  // The chat's context gauge: how much of what the model can read this conversation uses.
  const run = shownRun(s);
  u.contextBox.hidden = !chat || !m;
  if (chat && m) {
    const used = run ? allIds(run).length : 0;
    u.contextGauge.value = used / m.contextLength;
    u.contextText.textContent = ` ${d.contextGauge(used, m.contextLength)}`;
  }

  renderModelAbout(u, s, source);
}

/** Threads and the offline copy in plain words; a newer deploy offered; the runs kept across reloads. */
function renderOffline(u: Layout, s: AppState): void {
  const d = t();
  const o = s.offline;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const m = o.models;
  const copy = !m ? d.offlineNone : !m.finished ? d.offlineSaving(mb(m.done), mb(m.total)) : m.failed.length ? d.offlineIncomplete(m.failed.length) : d.offlineReady;
  u.offlineInfo.textContent = [copy, o.isolated ? '' : d.singleThread[o.reason]].filter(Boolean).join(' ');
  u.offlineInfo.title = [o.detail, ...(m?.failed ?? [])].filter(Boolean).join('\n');
  document.body.dataset.offline = !m ? 'none' : m.finished && !m.failed.length ? 'ready' : m.finished ? 'incomplete' : 'saving';
  u.updateBox.hidden = !o.updateReady;
  u.clearRuns.hidden = !s.runs.length;
  u.clearRuns.disabled = busy(s);
  document.body.dataset.savedRuns = String(s.saved.runs);
  document.body.dataset.savedSteps = String(s.saved.steps);
  document.body.dataset.steps = String(s.runs.reduce((n, r) => n + r.steps.length, 0)); // for scripts: compared with data-saved-steps
}

/** What the loaded model is, in plain words, and a link to its card. */
function renderModelAbout(u: Layout, s: AppState, source: ModelSource | null): void {
  const box = u.modelAbout;
  const key = `${s.model?.name}|${t().lang}`;
  if (!s.model || !source || box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  // The shipped models have their own line and card beside them; any other model its Hub page (none for a bare URL).
  const shipped = embeddedIdOf(source, embeddedUrls(document.baseURI));
  const card = shipped !== null && source.kind === 'url' ? new URL('MODEL_CARD.md', modelFolder(source.url)).href : source.kind === 'hub' ? `${source.endpoint}/${source.id}` : null;
  const link = document.createElement('a');
  link.href = card ?? '';
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = t().aboutModel;
  // The transcript format is shown as the model sees it, in any language.
  const knows = t().knows;
  const text = shipped === STORIES_ID ? knows.stories : shipped === EMBEDDED_CHAT_ID ? knows.embeddedChat : shipped === EMBEDDED_ID ? knows.embedded : knows.hub(s.model.name);
  const [before, ...after] = text.split(TRANSCRIPT);
  const code = document.createElement('code');
  code.translate = false;
  code.setAttribute('translate', 'no');
  code.textContent = TRANSCRIPT;
  box.append(before, ...(after.length ? [code, after.join(TRANSCRIPT)] : []), ...(card ? [' ', link] : []));
  box.dataset.model = shipped ?? s.model.name;
}

const TRANSCRIPT = 'User:/Assistant:';

const sourceName = (source: ModelSource) => (source.kind === 'hub' ? source.id : source.url.replace(/\/?$/, '').split('/').pop() ?? '');

function writeValue(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string): void {
  if (el.value === value) return;
  // The box being typed in keeps what the learner typed (an invalid number stays visible until fixed).
  if (document.activeElement === el && el.tagName !== 'SELECT' && el.type !== 'range') return;
  el.value = value;
}
