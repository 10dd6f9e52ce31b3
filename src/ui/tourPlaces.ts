// Where each concept of the guided tour lives in the app: "Show me" opens that live view,
// generating or inspecting first when the view would otherwise be empty.
import type { ExperimentsView } from './views/experimentsView.ts';
import type { InsideView } from './views/insideView.ts';
import type { Layout } from './layout.ts';
import type { LensView } from './views/lensView.ts';
import type { TrainingView } from './views/trainingView.ts';
import type { FinetuneView } from './views/finetuneView.ts';
import type { PrecisionView } from './views/precisionView.ts';
import type { Concept } from './views/tourView.ts';

export interface TourPlaces {
  ui: Layout;
  inside: InsideView;
  lens: LensView;
  experiments: ExperimentsView;
  training: TrainingView;
  finetune: FinetuneView;
  precision: PrecisionView;
  /** Switches to completion mode if the app is in chat mode. */
  completeMode: () => void;
  /** The model's picture (views/modelPicture.ts). */
  picture: HTMLElement;
  /** Makes sure a generated step is selected (generates once if nothing has been generated). */
  ensureStep: () => Promise<void>;
}

/** The element that shows concept `c`, ready to scroll to; null when the tour card itself shows it. */
export async function placeOf(c: Concept, p: TourPlaces): Promise<HTMLElement | null> {
  const u = p.ui;
  const section = (el: Element) => el.closest('section, details, fieldset') as HTMLElement;
  const inside = async (selector: string) => {
    await p.ensureStep();
    if (!p.inside.part('table.emb')) await p.inside.look();
    return p.inside.part(selector);
  };
  switch (c) {
    case 'tokens': {
      const box = u.promptTokens.closest('details')!;
      p.completeMode();
      box.open = u.more.open = true;
      return box;
    }
    case 'embeddings':
    case 'positions':
      return inside('table.emb');
    case 'attention':
      return inside('.heat-wrap');
    case 'ffn':
      // The model's picture: each block is attention then the feed-forward layer, added to the residual stream.
      await p.ensureStep();
      return p.picture;
    case 'softmax':
      await p.ensureStep();
      return section(u.stepPanel);
    case 'temperature':
      return p.experiments.element;
    case 'topkp':
      u.more.open = true; // Top-k is on the first screen, Top-p in the drawer: the panel holding both
      return u.controls.closest('section') as HTMLElement;
    case 'loop':
      p.completeMode();
      return section(u.output);
    case 'training':
      return null; // the card itself holds the loss curve
    case 'replay':
      p.completeMode();
      await p.training.run();
      return p.training.element;
    case 'finetuning':
      // The base and the tuned model at the same token (the step generated first if there is none).
      await p.ensureStep();
      await p.finetune.run();
      return p.finetune.element;
    case 'parameters':
      u.more.open = true; // the model's size is in the drawer's Engine group
      return u.modelInfo;
    case 'quantization':
      // The three precisions at the same token (the step generated first if there is none).
      await p.ensureStep();
      await p.precision.run();
      return p.precision.element;
    case 'hallucination':
      return p.lens.element;
  }
}
