// The loaded model's training log (training_log.json; only the embedded model has one), for the training
// replay and the tour: fetched once per model, asked again after a failed fetch.
import type { ModelSource } from '../worker/protocol.ts';
import type { TrainingLog } from './views/tourView.ts';

export class TrainingLogs {
  private logFor: { url: string; log: Promise<TrainingLog | null> } | null = null;

  of(source: ModelSource | null): Promise<TrainingLog | null> {
    if (!source || source.kind !== 'url') return Promise.resolve(null);
    if (this.logFor?.url !== source.url) {
      const log = fetch(source.url.replace(/\/?$/, '/') + 'training_log.json')
        .then((res) => (res.ok ? (res.json() as Promise<TrainingLog>) : null))
        .catch(() => {
          this.logFor = null; // not remembered: the next card asks again
          return null;
        });
      this.logFor = { url: source.url, log };
    }
    return this.logFor.log;
  }
}
