// The tool views below the main loop (inside the model, the hallucination lens, experiments, the training
// replay, before and after fine-tuning, precision): built together from what each may ask of the app, blocked together
// while the engine is busy, told together of a new model.
import type { ModelInfo } from '../worker/protocol.ts';
import type { EngineClient } from './engineClient.ts';
import { ExperimentsView, type ExperimentsHost } from './views/experimentsView.ts';
import { FinetuneView, type FinetuneHost } from './views/finetuneView.ts';
import { InsideView } from './views/insideView.ts';
import { LensView, type LensHost } from './views/lensView.ts';
import { PrecisionView } from './views/precisionView.ts';
import type { ToolHost } from './toolHost.ts';
import { TrainingView, type TrainingHost } from './views/trainingView.ts';

/** Everything the five views ask of the app, beyond the common ToolHost. */
export type ToolViewsHost = ToolHost &
  Pick<LensHost, 'temperature'> &
  Pick<ExperimentsHost & TrainingHost, 'promptSetup' | 'settings' | 'trainingLog'> &
  Pick<FinetuneHost, 'stepContext' | 'sibling' | 'conversation'>;

export class ToolViews {
  readonly inside: InsideView;
  readonly lens: LensView;
  readonly experiments: ExperimentsView;
  readonly training: TrainingView;
  readonly finetune: FinetuneView;
  readonly precision: PrecisionView;

  constructor(client: EngineClient, host: ToolViewsHost) {
    this.inside = new InsideView(client, host);
    this.lens = new LensView(client, host);
    this.experiments = new ExperimentsView(client, host);
    this.training = new TrainingView(client, host);
    this.finetune = new FinetuneView(client, host);
    this.precision = new PrecisionView(client, host);
  }

  /** In the Views bar's order. */
  get elements(): HTMLElement[] {
    return [this.inside.element, this.lens.element, this.experiments.element, this.training.element, this.finetune.element, this.precision.element];
  }

  /** Why no view may use the engine now (a run, a load, another tool), or null when it is free. */
  setBlocked(reason: string | null): void {
    for (const v of [this.lens, this.inside, this.experiments, this.training, this.finetune, this.precision]) v.setBlocked(reason);
  }

  /** A model came in: each view resets to it. Returns the lens's questions for it (the guessing game's prompts). */
  modelLoaded(model: ModelInfo): ReturnType<LensView['refresh']> {
    this.inside.setModel(model.nLayer, model.nHead);
    this.training.setModel(model.checkpoints);
    this.finetune.setModel();
    this.precision.setModel();
    return this.lens.refresh();
  }
}
