// What a tool view (the lens, inside the model, the experiments, the training replay) may ask of the app,
// the one way such a view runs an action (only when the engine is free, holding it meanwhile, errors
// reported) and the one way it is laid out.
import { h, type Child } from './dom.ts';
import { label } from './i18n/index.ts';
import type { Dict } from './i18n/en.ts';

type Text = (d: Dict) => string;

/**
 * A tool view's section (class `panel <kind>`): its heading, an optional hint, then its own parts; named
 * for screen readers (`region`), every text in the current language.
 */
export function toolPanel(kind: string, region: Text, title: Text, hint: Text | null, ...parts: Child[]): HTMLElement {
  return label(h('section', { class: `panel ${kind}` }, label(h('h2', {}), title), hint && label(h('p', { class: 'hint' }), hint), ...parts), region, 'aria-label');
}

export interface ToolHost {
  /** May the view use the engine now (no generation or load running)? Reports why not. */
  canRun(): boolean;
  /** `quiet`: a job the app started by itself (the shown error stays). */
  setBusy(busy: boolean, quiet?: boolean): void;
  error(message: string): void;
}

/** Runs `action` holding the engine; a failure becomes the app's error message, never a thrown error. */
export async function runTool(host: ToolHost, action: () => Promise<void>, quiet = false): Promise<void> {
  if (!host.canRun()) return;
  host.setBusy(true, quiet);
  try {
    await action();
  } catch (e) {
    // The app's own job, cut short by a load or a learner's run: nothing the learner asked for failed.
    if (quiet && /^Cancelled /.test((e as Error).message)) return;
    host.error((e as Error).message);
  } finally {
    host.setBusy(false);
  }
}

/**
 * A tool view's action buttons and the line that says why they are unavailable: while the model
 * generates or loads they are disabled, with the reason in words (and as the buttons' description).
 */
export class Availability {
  readonly note: HTMLElement;
  private running = false; // this view's own job: its buttons stay disabled until it ends

  constructor(private readonly buttons: HTMLButtonElement[]) {
    this.note = document.createElement('p');
    this.note.className = 'hint blocked';
    this.note.hidden = true;
  }

  /** reason: why the engine is not free (null = free). */
  set(reason: string | null): void {
    this.note.hidden = reason === null || this.running;
    this.note.textContent = reason ?? '';
    for (const b of this.buttons) {
      b.disabled = reason !== null || this.running;
      if (reason && !this.running) b.setAttribute('aria-description', reason);
      else b.removeAttribute('aria-description');
    }
  }

  /** While this view's own job runs. */
  hold(running: boolean): void {
    this.running = running;
    for (const b of this.buttons) b.disabled = running;
  }

  /** Runs a view's action holding the engine (runTool), its buttons held meanwhile. */
  run(host: ToolHost, action: () => Promise<void>, quiet = false): Promise<void> {
    return runTool(
      host,
      async () => {
        this.hold(true);
        try {
          await action();
        } finally {
          this.hold(false);
        }
      },
      quiet,
    );
  }
}
