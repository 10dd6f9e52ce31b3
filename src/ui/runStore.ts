// The learner's runs kept across reloads: the run tree (runs, branches, chat turns, each with its settings
// and seed) per model, in IndexedDB. Logits are not kept (they are recomputed from a run's ids when a step
// is selected, as for any step whose logits the page let go). A store written by another version of this
// shape, or one that cannot be read, is dropped and said so; a full disk is reported, never a broken page.
import type { AppState, Run } from './state.ts';
import type { Candidate } from '../sampling/step.ts';
import { packTop } from '../sampling/topColumns.ts';

const DB_NAME = 'nexttoken';
const STORE = 'runs';
/** The shape of a saved entry. Raise it when Run or StepRecord change in a way an old entry would break. */
export const SAVED_SHAPE = 2;
/** Shape 1 kept each step's candidates as objects with their labels (StepRecord.top before topColumns.ts): read, and converted. */
const CANDIDATE_OBJECTS = 1;

export interface SavedRuns {
  shape: number;
  model: string;
  savedAt: number;
  runs: Run[];
  shown: AppState['shown'];
}

export type Restored = { runs: Run[]; shown: AppState['shown'] } | { dropped: 'oldVersion' | 'damaged' } | null;

export class RunStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** The store, or null where this browser gives the page no IndexedDB (some private windows). */
  static async open(): Promise<RunStore | null> {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const opening = request(
        (() => {
          const r = indexedDB.open(DB_NAME, 1);
          r.onupgradeneeded = () => r.result.createObjectStore(STORE);
          return r;
        })(),
      );
      // A browser whose IndexedDB never answers (it happens) must not hold up the app: no store then.
      const db = await Promise.race([opening, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      return db ? new RunStore(db) : null;
    } catch {
      return null;
    }
  }

  /** The runs saved for `model`; an entry this version cannot use is deleted and reported. */
  async load(model: string): Promise<Restored> {
    let saved: unknown;
    try {
      saved = await request(this.tx('readonly').get(model));
    } catch {
      await this.clear(model).catch(() => undefined);
      return { dropped: 'damaged' };
    }
    if (saved === undefined) return null;
    const s = saved as Partial<SavedRuns>;
    if (s.shape === CANDIDATE_OBJECTS && validRuns(s.runs)) {
      try {
        s.runs = s.runs.map(withColumns);
        s.shape = SAVED_SHAPE;
      } catch {
        // not shape 1 after all: dropped below, as an entry of another version
      }
    }
    if (s.shape !== SAVED_SHAPE) {
      await this.clear(model);
      return { dropped: 'oldVersion' };
    }
    if (!validRuns(s.runs) || !s.runs.every((r) => r.steps.every((x) => x.top?.data instanceof Float32Array)) || !s.shown) {
      await this.clear(model);
      return { dropped: 'damaged' };
    }
    return { runs: s.runs, shown: s.shown };
  }

  /** Saves the runs of `model` (replacing what was saved). Throws the browser's error (e.g. QuotaExceededError). */
  async save(model: string, runs: Run[], shown: AppState['shown']): Promise<void> {
    const entry: SavedRuns = { shape: SAVED_SHAPE, model, savedAt: Date.now(), runs: runs.map(withoutLogits), shown };
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(entry, model);
    await done(tx);
  }

  async clear(model: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(model);
    await done(tx);
  }

  private tx(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }
}

/** A run saved with candidate objects (shape 1), its candidates packed as columns; a step whose candidates are not that shape throws. */
export function withColumns(r: Run): Run {
  return {
    ...r,
    steps: r.steps.map((x) => {
      const top = x.top as unknown;
      if (!Array.isArray(top) || !Array.isArray(x.stages)) throw new Error('not a shape-1 step');
      return { ...x, top: packTop(top as Candidate[], x.stages.length) };
    }),
  };
}

function withoutLogits(r: Run): Run {
  return { ...r, steps: r.steps.map(({ logits: _omit, ...rest }) => rest) };
}

/** The few things every later use of a run relies on: ids in order, from 1, and arrays where arrays belong. */
function validRuns(runs: unknown): runs is Run[] {
  return (
    Array.isArray(runs) &&
    runs.every((r: Partial<Run>, i) => r && r.id === i + 1 && (r.mode === 'complete' || r.mode === 'chat') && Array.isArray(r.promptIds) && Array.isArray(r.steps) && Array.isArray(r.history))
  );
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the save was aborted'));
  });
}
